using HardFocus.Engine.Backends.Cpu;
using HardFocus.Training;

namespace HardFocus.Tests;

/// <summary>The whole trainer on the ILGPU emulator against the SIMD CPU backend: same seed, same data, same numbers.</summary>
[Collection("ilgpu")]
public sealed class IlgpuTrainingParityTests(IlgpuFixture fixture)
{
    [Theory]
    [InlineData("tiny")]
    [InlineData("llama-tiny")]
    public void ThreeIrDroSteps_GiveTheSameLossesAndWeights(string model)
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-").FullName;
        try
        {
            string corpus = Path.Combine(dir, "corpus.txt");
            File.WriteAllText(corpus, string.Concat(Enumerable.Repeat("Call me Ishmael. Some years ago, never mind how long precisely. ", 6)));
            var options = new TrainOptions
            {
                Model = model, Tokenizer = "bytes", Corpus = corpus, Reweight = ReweightMethod.Irdro, Lambda = 0.5, BatchSize = 4, SeqLen = 8,
                Steps = 3, LearningRate = 1e-3f, ValFraction = 0, Seed = 5, WarmupSteps = 0,
            };
            using var onCpu = new TrainingSession(options, new CpuBackend());
            using var onIlgpu = new TrainingSession(options, fixture.Backend);
            for (int step = 0; step < 3; step++)
            {
                var expected = onCpu.Trainer.Step();
                var actual = onIlgpu.Trainer.Step();
                for (int i = 0; i < expected.Losses.Length; i++)
                {
                    Assert.True(Math.Abs(expected.Losses[i] - actual.Losses[i]) <= 1e-4, $"step {step + 1} loss {i}: {expected.Losses[i]} vs {actual.Losses[i]}");
                    Assert.True(Math.Abs(expected.Weights[i] - actual.Weights[i]) <= 1e-4, $"step {step + 1} weight {i}: {expected.Weights[i]} vs {actual.Weights[i]}");
                }
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
