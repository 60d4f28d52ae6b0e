using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Data;
using HardFocus.Training.Distributed;
using HardFocus.Training.Optim;

namespace HardFocus.Tests;

/// <summary>
/// The optimizer step over a <see cref="ParameterArena"/>: AdamW in one multi-tensor launch gives bitwise the per-tensor
/// updates on the CPU and agrees with the CPU on the ILGPU emulator; the global norm, clipping and the data-parallel
/// gradient sum are one pass over the flat gradients.
/// </summary>
[Collection("ilgpu")]
public sealed class MultiTensorOptimizerTests(IlgpuFixture fixture)
{
    private const int Steps = 4;
    private const float WeightDecay = 0.1f;

    // Vectors (no decay) and matrices (decay), odd sizes, one tensor longer than a chunk of the table.
    private static readonly Shape[] Shapes = [new(5), new(3, 7), new(17), new(300, 257), new(2, 3, 4), new(1)];

    /// <summary>At step 3 the third tensor gets no gradient, so the step must leave it and its moments alone.</summary>
    private static bool HasGradient(int step, int tensor) => !(step == 3 && tensor == 2);

    private static float LearningRate(int step) => 1e-2f / step;

    /// <summary>The gradients of every step, drawn once so every run sees the same.</summary>
    private static float[][][] Gradients()
    {
        var rng = new Rng(12);
        return Enumerable.Range(0, Steps).Select(_ => Shapes.Select(s => Random(rng, s.Size)).ToArray()).ToArray();
    }

    private static float[][] InitialValues() => Shapes.Select(s => Random(new Rng((ulong)s.Size), s.Size)).ToArray();

    private static float[] Random(Rng rng, int n)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = rng.NextGaussian();
        return values;
    }

    [Fact]
    public void MultiTensorAdamW_IsBitwiseThePerTensorUpdate_OnCpu()
    {
        var backend = new CpuBackend();
        var gradients = Gradients();
        var values = InitialValues();

        // The per-tensor way: one kernel launch per parameter, as the optimizer did before.
        var reference = values.Select((v, i) => Tensor.Persistent(v, Shapes[i], backend)).ToArray();
        var m = Shapes.Select(s => Tensor.Persistent(new float[s.Size], s, backend)).ToArray();
        var v = Shapes.Select(s => Tensor.Persistent(new float[s.Size], s, backend)).ToArray();
        for (int step = 1; step <= Steps; step++)
            for (int i = 0; i < Shapes.Length; i++)
            {
                if (!HasGradient(step, i)) continue;
                using var g = Tensor.Persistent(gradients[step - 1][i], Shapes[i], backend);
                float decay = Shapes[i].Rank >= 2 ? WeightDecay : 0f;
                backend.AdamW(reference[i].Buffer, g.Buffer, m[i].Buffer, v[i].Buffer, Shapes[i].Size, LearningRate(step),
                    0.9f, 0.999f, 1e-8f, decay, step);
            }

        var (parameters, optimizer) = Train(backend, values, gradients);

        var state = optimizer.State().ToDictionary(kv => kv.Key, kv => kv.Value);
        for (int i = 0; i < Shapes.Length; i++)
        {
            Assert.Equal(reference[i].ToArray(), parameters[i].ToArray());
            Assert.Equal(m[i].ToArray(), state[$"exp_avg.p{i}"].ToArray());
            Assert.Equal(v[i].ToArray(), state[$"exp_avg_sq.p{i}"].ToArray());
        }
    }

    [Fact]
    public void TrainingAGptThroughTheArena_IsBitwiseTheTrainingOfSeparateTensors()
    {
        // Gradients written into the homes, the one-launch AdamW and its moments, against the model as it was before:
        // every parameter and gradient its own buffer, one AdamW launch per parameter. GPT-2 ties its LM head to the
        // token embedding, so that gradient adds two contributions.
        var backend = new CpuBackend();
        var config = GptConfig.Tiny(256) with { ContextLength = 16 };
        using var separate = new GptModel(config, backend, seed: 3);
        using var gathered = new GptModel(config, backend, seed: 3);
        var parameters = separate.Parameters().ToList();
        var moments = parameters.Select(p => (M: Tensor.Persistent(new float[p.Length], p.Shape, backend),
            V: Tensor.Persistent(new float[p.Length], p.Shape, backend))).ToList();
        var optimizer = new AdamW(gathered.NamedParameters(), weightDecay: WeightDecay);
        var rng = new Rng(4);

        for (int step = 1; step <= 3; step++)
        {
            var batch = Enumerable.Range(0, 2).Select(_ =>
            {
                var ids = Enumerable.Range(0, 17).Select(_ => rng.NextInt(256)).ToArray();
                return new Sample(ids[..16], ids[1..], Enumerable.Repeat(1f, 16).ToArray());
            }).ToArray();
            foreach (var model in new DecoderModel[] { separate, gathered })
            {
                using var scope = TensorScope.Begin();
                var (ids, targets, mask) = BatchTensors.Create(batch, model);
                Ops.Sum(PerSampleLoss.Compute(model, ids, targets, mask)).Backward();
            }
            for (int i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i];
                backend.AdamW(p.Buffer, p.Grad!.Buffer, moments[i].M.Buffer, moments[i].V.Buffer, p.Length, LearningRate(step),
                    0.9f, 0.999f, 1e-8f, p.Rank >= 2 ? WeightDecay : 0f, step);
            }
            optimizer.Step(LearningRate(step));
            separate.ZeroGrad();
            gathered.ZeroGrad();
        }

        foreach (var (expected, actual) in parameters.Zip(gathered.Parameters()))
            Assert.Equal(expected.ToArray(), actual.ToArray());
    }

    [Fact]
    public void MultiTensorAdamW_OnTheIlgpuEmulator_AgreesWithTheCpu()
    {
        var gradients = Gradients();
        var values = InitialValues();
        var (onCpu, _) = Train(new CpuBackend(), values, gradients);
        var (onIlgpu, optimizer) = Train(fixture.Backend, values, gradients);
        try
        {
            for (int i = 0; i < Shapes.Length; i++)
            {
                float[] expected = onCpu[i].ToArray(), actual = onIlgpu[i].ToArray();
                for (int j = 0; j < expected.Length; j++) Assert.Equal(expected[j], actual[j], 5e-6f);
            }
        }
        finally
        {
            foreach (var p in onIlgpu) p.Dispose();
            foreach (var (_, state) in optimizer.State()) state.Dispose();
        }
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu")]
    public void GlobalNorm_AndClipping_RunOverTheFlatGradients(string device)
    {
        IBackend backend = device == "cpu" ? new CpuBackend() : fixture.Backend;
        var gradients = Gradients()[0];
        var parameters = InitialValues().Select((v, i) => Tensor.Parameter(v, Shapes[i], backend)).ToArray();
        try
        {
            // Every tensor but the third gets its gradient; that one must stay without one.
            for (int i = 0; i < Shapes.Length; i++)
                if (i != 2) parameters[i].AccumulateGrad(Tensor.Persistent(gradients[i], Shapes[i], backend));
            double squares = gradients.Where((_, i) => i != 2).SelectMany(g => g).Sum(x => (double)x * x);
            float expected = (float)Math.Sqrt(squares);

            Assert.Equal(expected, GradientClipping.GlobalNorm(parameters), expected * 1e-5f);
            float norm = GradientClipping.ClipGlobalNorm(parameters, maxNorm: expected / 2);

            Assert.Equal(expected, norm, expected * 1e-5f);
            float scale = expected / 2 / (norm + 1e-6f);
            Assert.Null(parameters[2].Grad);
            for (int i = 0; i < Shapes.Length; i++)
            {
                if (i == 2) continue;
                float[] clipped = parameters[i].Grad!.ToArray();
                for (int j = 0; j < clipped.Length; j++) Assert.Equal(gradients[i][j] * scale, clipped[j], 1e-6f);
            }
            Assert.Equal(expected / 2, GradientClipping.GlobalNorm(parameters), expected * 1e-5f);
        }
        finally
        {
            foreach (var p in parameters) p.Dispose();
        }
    }

    [Fact]
    public void GradientSync_OnADevice_SumsTheFlatGradientsThroughTheHost()
    {
        var backend = fixture.Backend;
        var vector = Tensor.Parameter([1f, 2f, 3f], new Shape(3), backend);
        var matrix = Tensor.Parameter([4f, 5f, 6f, 7f], new Shape(2, 2), backend);
        var unused = Tensor.Parameter([8f], new Shape(1), backend);
        try
        {
            Ops.Sum(vector * vector).Backward();
            Ops.Sum(matrix * matrix).Backward();
            var world = new OneOtherRank(addend: 100f);
            new GradientSync([vector, matrix, unused], world, bucketFloats: 3).SumAcrossRanks();

            Assert.Equal([3, 3, 2], world.Buckets);
            Assert.Equal([102f, 104f, 106f], vector.Grad!.ToArray());
            Assert.Equal([108f, 110f, 112f, 114f], matrix.Grad!.ToArray());
            Assert.Null(unused.Grad);
        }
        finally
        {
            foreach (var p in new[] { vector, matrix, unused }) p.Dispose();
        }
    }

    /// <summary>The optimizer over parameters with <paramref name="values"/>: each step hands them this step's gradients,
    /// steps, and forgets the gradients.</summary>
    private static (Tensor[] Parameters, AdamW Optimizer) Train(IBackend backend, float[][] values, float[][][] gradients)
    {
        var parameters = values.Select((v, i) => Tensor.Parameter(v, Shapes[i], backend)).ToArray();
        var optimizer = new AdamW(parameters.Select((p, i) => ($"p{i}", p)), weightDecay: WeightDecay);
        for (int step = 1; step <= Steps; step++)
        {
            for (int i = 0; i < Shapes.Length; i++)
                if (HasGradient(step, i)) parameters[i].AccumulateGrad(Tensor.Persistent(gradients[step - 1][i], Shapes[i], backend));
            optimizer.Step(LearningRate(step));
            foreach (var p in parameters) p.ZeroGrad();
        }
        return (parameters, optimizer);
    }
}
