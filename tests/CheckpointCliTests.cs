using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Optim;

namespace HardFocus.Tests;

/// <summary>Damaged and diverged checkpoints, and leftovers of killed saves, as a user meets them: through the hardfocus command, as a process.</summary>
public class CheckpointCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-ckptcli-").FullName;
    private readonly string _corpus;

    public CheckpointCliTests()
    {
        _corpus = Path.Combine(_dir, "corpus.txt");
        File.WriteAllText(_corpus, string.Concat(Enumerable.Repeat("Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about a little. ", 12)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A run folder one step into a two-step run, saved the way `train` saves it.</summary>
    private RunFolder TrainedOneStep()
    {
        var options = new TrainOptions { Model = "tiny", Tokenizer = "bytes", Corpus = _corpus, BatchSize = 2, SeqLen = 16, Steps = 2, ValFraction = 0.1, Seed = 3 };
        var folder = new RunFolder(Path.Combine(_dir, "run"));
        using var session = new TrainingSession(options, new CpuBackend());
        session.Trainer.Step();
        session.Save(folder);
        return folder;
    }

    private static string OneErrorLine(int code, string err)
    {
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        return lines[0];
    }

    [Theory]
    [InlineData(RunFolder.ModelFile, "eval")]
    [InlineData(RunFolder.ModelFile, "generate")]
    [InlineData(RunFolder.ModelFile, "resume")]
    [InlineData(RunFolder.OptimizerFile, "resume")]
    [InlineData(RunFolder.ConfigFile, "eval")]
    public void DamagedCheckpointFile_GivesOneErrorLineNamingIt(string file, string command)
    {
        var folder = TrainedOneStep();
        string path = folder.File(file);
        var bytes = File.ReadAllBytes(path);
        // For a safetensors file, one bit of the last weight; config.json gets a space that JSON would not even notice.
        if (file == RunFolder.ConfigFile) bytes = [.. bytes, (byte)' '];
        else bytes[^2] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var (code, _, err) = command switch
        {
            "eval" => CliTests.Run("eval", "--checkpoint", folder.Path),
            "generate" => CliTests.Run("generate", "--checkpoint", folder.Path, "--prompt", "Call me", "--max-tokens", "2"),
            _ => CliTests.Run("train", "--resume", folder.Path),
        };
        string line = OneErrorLine(code, err);
        Assert.Contains(path, line);
        Assert.Contains("does not match the SHA-256", line);
    }

    [Fact]
    public void DivergingRun_StopsWithOneLine_AndItsLastCheckpointIsFinite()
    {
        string run = Path.Combine(_dir, "diverging");
        var (code, _, err) = CliTests.Run("train", "--model", "tiny", "--tokenizer", "bytes", "--corpus", _corpus, "--batch-size", "2", "--seq-len", "16",
            "--steps", "40", "--lr", "1e3", "--warmup", "0", "--save-every", "1", "--eval-every", "0", "--out", run);
        Assert.Contains("diverged", OneErrorLine(code, err));

        var folder = new RunFolder(run);
        var state = folder.LoadTrainerState();
        Assert.InRange(state.Step, 1, 39);
        using var model = folder.LoadConfig(state).CreateModel(new CpuBackend(), seed: 0);
        var optimizer = new AdamW(model.NamedParameters().ToList());
        folder.LoadModel(model, state);
        folder.LoadOptimizer(optimizer, state);
        foreach (var (name, tensor) in model.StateDict().Concat(optimizer.State()))
            Assert.True(tensor.ToArray().All(float.IsFinite), $"{name} holds non-finite values");
    }

    [Fact]
    public void Resume_RemovesTheTemporaryFilesOfKilledSaves_AndNothingElse()
    {
        var folder = TrainedOneStep();
        string[] stale = [".model.safetensors.0123456789abcdef0123456789abcdef.tmp", ".trainer.json.fedcba9876543210fedcba9876543210.tmp",
            ".metrics.jsonl.00000000000000000000000000000000.tmp"];
        string[] kept = ["notes.tmp", ".notes.tmp", ".model.safetensors.XYZ.tmp", "model.safetensors.0123456789abcdef0123456789abcdef.tmp"];
        foreach (var name in stale.Concat(kept)) File.WriteAllText(folder.File(name), "left behind");

        var (code, _, err) = CliTests.Run("train", "--resume", folder.Path);
        Assert.True(code == 0, err);
        Assert.Equal(2, folder.LoadTrainerState().Step);
        Assert.All(stale, name => Assert.False(File.Exists(folder.File(name)), name));
        Assert.All(kept, name => Assert.True(File.Exists(folder.File(name)), name));
    }
}
