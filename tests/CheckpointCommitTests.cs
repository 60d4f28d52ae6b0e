using HardFocus.Engine;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Data;
using HardFocus.Training.Optim;

namespace HardFocus.Tests;

/// <summary>
/// The checkpoint commit rule under failure: a save is made to fail at each of its file operations in turn, then the
/// following save at each of its operations in turn, and after every failure a fresh RunFolder must load one complete
/// checkpoint, either the one committed before the save or the one the save wrote.
/// </summary>
public class CheckpointCommitTests : IDisposable
{
    private static readonly GptConfig Micro = new() { VocabSize = 16, ContextLength = 8, Layers = 1, Heads = 1, Width = 8 };
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-commit-").FullName;
    private readonly CpuBackend _backend = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>What one save attempt wrote; <see cref="Attempt"/> is also stored as the loader position, so trainer.json
    /// tells which attempt it belongs to.</summary>
    private sealed record Saved(int Attempt, int Step, float[] Weights, float[] Moments)
    {
        public LoaderState Loader => new(0, Attempt);
    }

    /// <summary>Saves a model and optimizer whose every value is distinct to this attempt, and returns what it meant to
    /// write. A failure that <paramref name="io"/> injects ends the save and nothing more.</summary>
    private Saved Save(string folder, int attempt, int step, IRunFolderIO? io = null)
    {
        using var model = new GptModel(Micro, _backend, seed: 1);
        var optimizer = new AdamW(model.NamedParameters().ToList());
        float next = attempt * 100_000;
        foreach (var p in model.Parameters()) p.CopyFrom(Enumerable.Range(0, p.Length).Select(_ => next++).ToArray());
        var moments = optimizer.State().ToDictionary(kv => kv.Key, kv => Tensor.Persistent(
            Enumerable.Range(0, kv.Value.Length).Select(_ => next++).ToArray(), kv.Value.Shape, _backend));
        optimizer.LoadState(moments, step);
        foreach (var t in moments.Values) t.Dispose();
        var saved = new Saved(attempt, step, Flat(model.Parameters()), Flat(optimizer.State().Select(kv => kv.Value)));
        // Even the saves meant to succeed go through the test's file operations: they skip the flush to disk.
        io ??= new FailingRunFolderIO(failAt: 0);
        try { new RunFolder(folder, io).SaveCheckpoint(model, optimizer, new TrainerState(step, saved.Loader, new TrainOptions(), _backend.Name)); }
        catch (IOException) when (io is FailingRunFolderIO { Failed: true }) { }
        return saved;
    }

    private static float[] Flat(IEnumerable<Tensor> tensors) => tensors.SelectMany(t => t.ToArray()).ToArray();

    /// <summary>Loads the folder as a resume would and returns which of <paramref name="allowed"/> it holds, after checking
    /// that config, weights and optimizer state are all that attempt's. A null among them allows "no checkpoint yet".</summary>
    private Saved? AssertComplete(string folder, string context, params Saved?[] allowed)
    {
        var run = new RunFolder(folder);
        if (!run.HasCheckpoint)
        {
            Assert.True(allowed.Contains(null), $"{context}: no trainer.json");
            return null;
        }
        var state = run.LoadTrainerState();
        var saved = allowed.SingleOrDefault(s => s != null && s.Loader == state.Loader);
        Assert.True(saved != null, $"{context}: trainer.json names attempt {state.Loader.Position}, expected one of {string.Join(", ", allowed.Select(s => s?.Attempt))}");
        Assert.Equal(saved.Step, state.Step);
        Assert.Equal(Micro, run.LoadConfig(state));
        using var model = new GptModel(Micro, _backend, seed: 2);
        var optimizer = new AdamW(model.NamedParameters().ToList());
        run.LoadModel(model, state);
        run.LoadOptimizer(optimizer, state);
        Assert.True(saved.Weights.AsSpan().SequenceEqual(Flat(model.Parameters())), $"{context}: weights");
        Assert.True(saved.Moments.AsSpan().SequenceEqual(Flat(optimizer.State().Select(kv => kv.Value))), $"{context}: optimizer state");
        Assert.Equal(saved.Step, optimizer.StepCount);
        return saved;
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    [Fact]
    public void FirstSave_FailingAnywhere_LeavesNoCheckpointOrTheNewOne()
    {
        for (int k = 1; ; k++)
        {
            string folder = Path.Combine(_dir, $"first-{k}");
            var io = new FailingRunFolderIO(k);
            var written = Save(folder, attempt: 1, step: 1, io);
            if (!io.Failed) break;
            AssertComplete(folder, $"failed at operation {k}", null, written);
            var clean = Save(folder, attempt: 2, step: 1);
            AssertComplete(folder, $"after failing at operation {k}, a clean save", clean);
        }
    }

    /// <summary>The second save is of the same step as the failed one, as when a resumed run reaches it again, but with
    /// other values: so the step stamp cannot tell its files from the first attempt's, only the commit record can.</summary>
    [Fact]
    public void TwoSaves_FailingAtEveryOperationInTurn_NeverLoseTheCheckpoint()
    {
        int cases = 0;
        for (int k1 = 1; ; k1++)
        {
            string first = Path.Combine(_dir, $"k{k1}");
            var committed = Save(first, attempt: 1, step: 1);
            var io1 = new FailingRunFolderIO(k1);
            var written1 = Save(first, attempt: 2, step: 2, io1);
            if (!io1.Failed) break;
            // A failure after the save's trainer.json is in place leaves it committed; either way one of the two loads.
            var afterFirst = AssertComplete(first, $"first save failed at {k1}", committed, written1);

            for (int k2 = 1; ; k2++)
            {
                string second = Path.Combine(_dir, $"k{k1}-{k2}");
                CopyFolder(first, second);
                var io2 = new FailingRunFolderIO(k2);
                var written2 = Save(second, attempt: 3, step: 2, io2);
                if (!io2.Failed) { Directory.Delete(second, recursive: true); break; }
                string context = $"first save failed at {k1}, second at {k2}";
                AssertComplete(second, context, afterFirst, written2);

                // Once the cause is gone, a resume clears the leftovers and the next save commits.
                new RunFolder(second).RemoveStaleTemporaryFiles();
                Assert.Empty(Directory.GetFiles(second, "*.tmp"));
                var clean = Save(second, attempt: 4, step: 4);
                AssertComplete(second, context + ", then a clean save", clean);
                Assert.Equal(["config.json", "model.safetensors", "optimizer.safetensors", "trainer.json"],
                    Directory.GetFiles(second).Select(Path.GetFileName).Order(StringComparer.Ordinal));
                Directory.Delete(second, recursive: true);
                cases++;
            }
            Directory.Delete(first, recursive: true);
        }
        // Each save has dozens of operations (one per tensor written); make sure the enumeration really ran them.
        Assert.True(cases > 1000, $"only {cases} failure pairs were tried");
    }

    [Fact]
    public void FolderSavedBeforeChecksums_SurvivesAFailedSaveAndUpgrades()
    {
        for (int k = 1; ; k++)
        {
            string folder = Path.Combine(_dir, $"legacy-{k}");
            var committed = Save(folder, attempt: 1, step: 1);
            // trainer.json as written before it recorded checksums: the step stamps in the files are all there is.
            var run = new RunFolder(folder);
            File.WriteAllText(run.File(RunFolder.TrainerFile), System.Text.Json.JsonSerializer.Serialize(run.LoadTrainerState() with { Sha256 = null }, RunFolder.Json));
            var io = new FailingRunFolderIO(k);
            var written = Save(folder, attempt: 2, step: 2, io);
            if (!io.Failed) break;
            AssertComplete(folder, $"failed at operation {k}", committed, written);
            var clean = Save(folder, attempt: 3, step: 3);
            AssertComplete(folder, $"after failing at operation {k}, a clean save", clean);
            Assert.NotNull(new RunFolder(folder).LoadTrainerState().Sha256);
        }
    }

    [Theory]
    [InlineData("h.0.ln_1.weight", float.NaN)]
    [InlineData("exp_avg_sq.wte.weight", float.PositiveInfinity)] // what a diverging AdamW run holds while its loss is still finite
    public void NonFiniteValue_StopsTheSave_AndLeavesTheFolderAsItWas(string tensor, float value)
    {
        string folder = Path.Combine(_dir, "poisoned");
        Save(folder, attempt: 1, step: 1);
        var before = Directory.GetFiles(folder).ToDictionary(f => f, File.ReadAllBytes);

        using var model = new GptModel(Micro, _backend, seed: 1);
        var optimizer = new AdamW(model.NamedParameters().ToList());
        var target = model.StateDict().Concat(optimizer.State()).Single(kv => kv.Key == tensor).Value;
        var data = target.ToArray();
        data[3] = value;
        target.CopyFrom(data);
        var error = Assert.Throws<InvalidOperationException>(() =>
            new RunFolder(folder).SaveCheckpoint(model, optimizer, new TrainerState(2, new LoaderState(0, 2), new TrainOptions(), _backend.Name)));
        Assert.Contains($"'{tensor}' holds non-finite values", error.Message);

        Assert.Equal(before.Keys.Order(), Directory.GetFiles(folder).Order());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
    }
}
