using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Data;
using HardFocus.Training.Reweighting;

namespace HardFocus.Tests;

public class TrainingTests
{
    private const string Text = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. " +
                                "However little known the feelings or views of such a man may be on his first entering a neighbourhood.";

    private static GptModel TinyModel(CpuBackend backend, ulong seed = 7) =>
        new(GptConfig.Tiny(256) with { ContextLength = 16 }, backend, seed);

    private static Sample Sequence(Rng rng, int length, int maskedPrefix)
    {
        var input = new int[length]; var target = new int[length]; var mask = new float[length];
        for (int t = 0; t < length; t++) { input[t] = rng.NextInt(256); target[t] = rng.NextInt(256); mask[t] = t < maskedPrefix ? 0f : 1f; }
        return new Sample(input, target, mask);
    }

    /// <summary>The flattened gradient of every parameter after backward from the given seed over the batch's per-sample losses.</summary>
    private static double[] Gradient(GptModel model, Sample[] batch, float[] seed)
    {
        using (TensorScope.Begin())
        {
            var (ids, targets, mask) = BatchTensors.Create(batch, model);
            var perSample = PerSampleLoss.Compute(model, ids, targets, mask);
            perSample.Backward(Tensor.FromArray(seed, perSample.Shape, model.Backend));
        }
        var grad = model.Parameters().SelectMany(p => p.Grad?.ToArray() ?? new float[p.Length]).Select(g => (double)g).ToArray();
        model.ZeroGrad();
        return grad;
    }

    [Fact]
    public void PerSampleLoss_EqualsAHandComputation()
    {
        var backend = new CpuBackend();
        using var model = TinyModel(backend);
        var rng = new Rng(2);
        var batch = new[] { Sequence(rng, 9, 3), Sequence(rng, 9, 0), Sequence(rng, 9, 8) };
        float[] losses, logits;
        using (TensorScope.Begin())
        {
            var (ids, targets, mask) = BatchTensors.Create(batch, model);
            logits = model.Forward(ids).ToArray();
            losses = PerSampleLoss.Compute(model, ids, targets, mask).ToArray();
        }
        for (int b = 0; b < batch.Length; b++)
        {
            double sum = 0, count = 0;
            for (int t = 0; t < 9; t++)
            {
                if (batch[b].Mask[t] == 0) continue;
                var row = logits.AsSpan((b * 9 + t) * 256, 256).ToArray();
                double max = row.Max(), logZ = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
                sum += logZ - row[batch[b].Target[t]];
                count++;
            }
            Assert.Equal(sum / count, losses[b], 4);
        }
    }

    [Fact]
    public void MaskedTargets_DoNotAffectTheGradient()
    {
        var backend = new CpuBackend();
        using var model = TinyModel(backend);
        var rng = new Rng(3);
        var a = new[] { Sequence(rng, 8, 4), Sequence(rng, 8, 2) };
        // Same inputs and unmasked targets; every masked (prompt) target changed.
        var b = a.Select(s => s with { Target = s.Target.Select((y, t) => s.Mask[t] == 0 ? (y + 17) % 256 : y).ToArray() }).ToArray();
        Assert.Equal(Gradient(model, a, [0.5f, 0.5f]), Gradient(model, b, [0.5f, 0.5f]));
    }

    [Fact]
    public void IrDroGradient_EqualsTheWeightedSumOfPerSampleGradients()
    {
        var backend = new CpuBackend();
        using var model = TinyModel(backend);
        var rng = new Rng(4);
        var batch = Enumerable.Range(0, 4).Select(i => Sequence(rng, 8, i)).ToArray();
        float[] losses;
        using (TensorScope.Begin())
        {
            var (ids, targets, mask) = BatchTensors.Create(batch, model);
            losses = PerSampleLoss.Compute(model, ids, targets, mask).ToArray();
        }
        var weights = new IrDro(0.05).Weights(losses);
        Assert.Equal(1.0, weights.Sum(), 9);

        var combined = Gradient(model, batch, weights.Select(w => (float)w).ToArray());
        var expected = new double[combined.Length];
        for (int i = 0; i < batch.Length; i++)
        {
            // Each sample's gradient on its own, from a separate backward pass.
            var alone = Gradient(model, [batch[i]], [1f]);
            for (int j = 0; j < expected.Length; j++) expected[j] += weights[i] * alone[j];
        }
        double scale = expected.Max(Math.Abs);
        for (int j = 0; j < expected.Length; j++) Assert.True(Math.Abs(expected[j] - combined[j]) <= 1e-4 * scale, $"parameter element {j}");

        // A very large lambda gives ERM's gradient.
        var flat = Gradient(model, batch, new IrDro(1e8).Weights(losses).Select(w => (float)w).ToArray());
        var erm = Gradient(model, batch, [0.25f, 0.25f, 0.25f, 0.25f]);
        for (int j = 0; j < erm.Length; j++) Assert.Equal(erm[j], flat[j], 6);
    }

    private static TrainOptions TinyOptions(string corpus, ReweightMethod reweight = ReweightMethod.Irdro, int patience = 1, PoolMode poolMode = PoolMode.Graphs) => new()
    {
        Model = "tiny", Tokenizer = "bytes", Corpus = corpus, Reweight = reweight, Lambda = 0.5, Frac = 0.5, Portion = 1,
        Patience = patience, PoolMode = poolMode, BatchSize = 4, SeqLen = 16, LearningRate = 3e-3f, Steps = 6, ValFraction = 0.1, Seed = 11,
        Dropout = 0.1f, WarmupSteps = 2, Schedule = LrSchedule.Cosine,
    };

    private static string CorpusFile(string dir)
    {
        string path = Path.Combine(dir, "corpus.txt");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat(Text, 4)));
        return path;
    }

    [Fact]
    public void Patience_PoolsMicroBatchesIntoOneStep_AndBothPoolModesAgree()
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-").FullName;
        try
        {
            var results = new List<StepResult>();
            foreach (var mode in new[] { PoolMode.Graphs, PoolMode.Rescore })
            {
                using var session = new TrainingSession(TinyOptions(CorpusFile(dir), ReweightMethod.Midrank, patience: 3, poolMode: mode), new CpuBackend());
                var r = session.Trainer.Step();
                Assert.Equal(1, session.Optimizer.StepCount);
                Assert.Equal(12, r.Losses.Length);
                Assert.Equal(6, r.Weights.Count(w => w > 0)); // frac 0.5 of the 12-sample pool, second block
                Assert.Equal(new LoaderState(0, 12), session.Loader.State);
                results.Add(r);
                results.Add(session.Trainer.Step());
            }
            Assert.Equal(results[0].Losses, results[2].Losses);
            Assert.Equal(results[1].Losses, results[3].Losses);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(ReweightMethod.Irdro)]
    [InlineData(ReweightMethod.RunningIrdro)] // its running spread must come back from trainer.json
    public void Resume_IsBitwiseIdenticalToAnUninterruptedRun(ReweightMethod reweight)
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-").FullName;
        try
        {
            var options = TinyOptions(CorpusFile(dir), reweight, patience: 2);
            float[] straightParams;
            var straight = new List<float[]>();
            using (var session = new TrainingSession(options, new CpuBackend()))
            {
                for (int i = 0; i < 6; i++) straight.Add(session.Trainer.Step().Losses);
                straightParams = session.Model.Parameters().SelectMany(p => p.ToArray()).ToArray();
            }

            var folder = new RunFolder(Path.Combine(dir, "run"));
            var resumed = new List<float[]>();
            using (var first = new TrainingSession(options, new CpuBackend()))
            {
                for (int i = 0; i < 2; i++) resumed.Add(first.Trainer.Step().Losses);
                first.Save(folder);
            }
            var state = folder.LoadTrainerState();
            Assert.Equal(2, state.Step);
            Assert.Equal(reweight == ReweightMethod.RunningIrdro, state.ReweighterState != null);
            using (var second = new TrainingSession(state.Options, new CpuBackend(), folder.LoadConfig()))
            {
                second.Restore(folder, state);
                for (int i = 2; i < 6; i++) resumed.Add(second.Trainer.Step().Losses);
                Assert.Equal(straightParams, second.Model.Parameters().SelectMany(p => p.ToArray()).ToArray());
            }
            for (int i = 0; i < 6; i++) Assert.Equal(straight[i], resumed[i]);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>trainer.json as the code wrote it before options were enums: lower-case strings, and Padding as "Left".</summary>
    private const string TrainerJsonBeforeEnums = """
        {
          "Step": 1,
          "Loader": { "Epoch": 0, "Position": 2 },
          "Options": {
            "Model": "tiny", "Tokenizer": "bytes", "Corpus": "corpus.txt", "Instruct": null,
            "Reweight": "midrank", "Lambda": 1, "Frac": 0.5, "Portion": 1, "Patience": 1, "PoolMode": "graphs",
            "Steps": 1, "BatchSize": 2, "SeqLen": 16, "LearningRate": 0.001, "Schedule": "constant", "WarmupSteps": 30,
            "Optimizer": "adamw", "WeightDecay": 0.01, "ClipNorm": 0, "Dropout": 0, "Seed": 1, "EvalEvery": 100,
            "SaveEvery": 100, "EvalBatches": 16, "ValFraction": 0.05, "Padding": "Left"
          },
          "Backend": "cpu"
        }
        """;

    [Theory]
    [InlineData("irdro", "\"graphs\"", "\"constant\"", "\"adamw\"", ReweightMethod.Irdro, PoolMode.Graphs, LrSchedule.Constant, OptimizerKind.Adamw)]
    [InlineData("erm", "\"rescore\"", "\"cosine\"", "\"sgd\"", ReweightMethod.Erm, PoolMode.Rescore, LrSchedule.Cosine, OptimizerKind.Sgd)]
    [InlineData("midrank", "\"graphs\"", "\"constant\"", "\"adamw\"", ReweightMethod.Midrank, PoolMode.Graphs, LrSchedule.Constant, OptimizerKind.Adamw)]
    public void TrainerJson_WrittenBeforeEnums_StillLoads(string reweight, string poolMode, string schedule, string optimizer,
        ReweightMethod expectedReweight, PoolMode expectedPoolMode, LrSchedule expectedSchedule, OptimizerKind expectedOptimizer)
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-").FullName;
        try
        {
            string text = TrainerJsonBeforeEnums.Replace("\"midrank\"", $"\"{reweight}\"").Replace("\"graphs\"", poolMode)
                .Replace("\"constant\"", schedule).Replace("\"adamw\"", optimizer);
            File.WriteAllText(Path.Combine(dir, RunFolder.TrainerFile), text);
            var state = new RunFolder(dir).LoadTrainerState();
            Assert.Equal((1, new LoaderState(0, 2), "cpu"), (state.Step, state.Loader, state.Backend));
            Assert.Null(state.ReweighterState);
            var o = state.Options;
            Assert.Equal((expectedReweight, expectedPoolMode, expectedSchedule, expectedOptimizer), (o.Reweight, o.PoolMode, o.Schedule, o.Optimizer));
            Assert.Equal(PaddingSide.Left, o.Padding);
            // Options the old file does not mention take today's defaults.
            Assert.Equal((PromptTemplate.Alpaca, 0.25, 0.1), (o.Template, o.Alpha, o.Trim));
            Assert.Equal(("tiny", 2, 16, 0.001f), (o.Model, o.BatchSize, o.SeqLen, o.LearningRate));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TrainerJson_SpellsEnumsAsTheCliDoes_AndRoundTrips()
    {
        var options = new TrainOptions
        {
            Reweight = ReweightMethod.TrimmedIrdro, PoolMode = PoolMode.Rescore, Schedule = LrSchedule.Cosine, Optimizer = OptimizerKind.Sgd,
            Template = PromptTemplate.Compact, Padding = PaddingSide.Right, Alpha = 0.3, Trim = 0.2,
        };
        var state = new TrainerState(4, new LoaderState(1, 8), options, "cpu", [4, 0.125]);
        string json = System.Text.Json.JsonSerializer.Serialize(state, RunFolder.Json);
        foreach (var pair in new[] { ("Reweight", "trimmed-irdro"), ("PoolMode", "rescore"), ("Schedule", "cosine"), ("Optimizer", "sgd"), ("Template", "compact"), ("Padding", "right") })
            Assert.Contains($"\"{pair.Item1}\": \"{pair.Item2}\"", json);
        var back = System.Text.Json.JsonSerializer.Deserialize<TrainerState>(json, RunFolder.Json)!;
        Assert.Equal(options, back.Options);
        Assert.Equal([4, 0.125], back.ReweighterState!);
        // An enum written as a number is not a name anyone typed: rejected rather than guessed.
        Assert.Throws<System.Text.Json.JsonException>(() => System.Text.Json.JsonSerializer.Deserialize<TrainerState>(json.Replace("\"sgd\"", "1"), RunFolder.Json));
    }

    [Theory]
    [InlineData("Alpha", 0.0, "--alpha must be in (0, 1], got 0.")]
    [InlineData("Alpha", 1.5, "--alpha must be in (0, 1], got 1.5.")]
    [InlineData("Trim", 1.0, "--trim must be in [0, 1), got 1.")]
    [InlineData("Trim", -0.1, "--trim must be in [0, 1), got -0.1.")]
    [InlineData("Lambda", 0.0, "--lambda must be in (0, 1000000], got 0.")]
    [InlineData("Lambda", double.PositiveInfinity, "--lambda must be in (0, 1000000], got Infinity.")]
    [InlineData("Lambda", double.NaN, "--lambda must be in (0, 1000000], got NaN.")]
    [InlineData("Frac", 0.0, "--frac must be in (0, 1], got 0.")]
    public void Validate_RejectsOutOfRangeReweightingKnobs_WithOneLine(string field, double value, string message)
    {
        var options = field switch
        {
            "Alpha" => new TrainOptions { Alpha = value },
            "Trim" => new TrainOptions { Trim = value },
            "Lambda" => new TrainOptions { Lambda = value },
            _ => new TrainOptions { Frac = value },
        };
        Assert.Equal(message, Assert.Throws<ArgumentException>(options.Validate).Message);
    }

    [Fact]
    public void InterruptedSave_StillResumesFromTheLastCompleteCheckpoint()
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-").FullName;
        try
        {
            var options = TinyOptions(CorpusFile(dir));
            var folder = new RunFolder(Path.Combine(dir, "run"));
            float[] atStep2;
            using (var session = new TrainingSession(options, new CpuBackend()))
            {
                session.Trainer.Step();
                session.Trainer.Step();
                session.Save(folder);
                atStep2 = session.Model.Parameters().SelectMany(p => p.ToArray()).ToArray();
                session.Trainer.Step();
                // A save of step 3 that died after replacing the weights but before trainer.json:
                File.Move(folder.File(RunFolder.ModelFile), folder.File(RunFolder.ModelFile) + ".prev");
                HardFocus.Engine.IO.TensorFile.Save(folder.File(RunFolder.ModelFile), session.Model.StateDict(), new Dictionary<string, string> { ["step"] = "3" });
                File.AppendAllText(folder.File(RunFolder.MetricsFile), "{\"step\":2,\"loss\":1}\n{\"step\":3,\"lo");
            }
            var state = folder.LoadTrainerState();
            Assert.Equal(2, state.Step);
            using var resumed = new TrainingSession(state.Options, new CpuBackend(), folder.LoadConfig());
            resumed.Restore(folder, state);
            Assert.Equal(atStep2, resumed.Model.Parameters().SelectMany(p => p.ToArray()).ToArray());
            folder.TruncateLogsAfter(2);
            Assert.Equal(["{\"step\":2,\"loss\":1}"], File.ReadAllLines(folder.File(RunFolder.MetricsFile)));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TinyModel_OverfitsAShortText()
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-").FullName;
        try
        {
            string path = Path.Combine(dir, "short.txt");
            File.WriteAllText(path, Text);
            var options = TinyOptions(path, ReweightMethod.Erm) with { Steps = 100, LearningRate = 3e-3f, WarmupSteps = 0, Schedule = LrSchedule.Constant, ValFraction = 0, Dropout = 0, BatchSize = 4, SeqLen = 32, WeightDecay = 0 };
            using var session = new TrainingSession(options, new CpuBackend());
            float first = session.Trainer.Step().MeanLoss, last = first;
            while (session.Trainer.StepsDone < options.Steps) last = session.Trainer.Step().MeanLoss;
            Assert.True(last < 0.1f * first, $"loss fell from {first} to {last}");
        }
        finally { Directory.Delete(dir, true); }
    }
}
