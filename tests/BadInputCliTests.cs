using System.Text.Json.Nodes;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Training;

namespace HardFocus.Tests;

/// <summary>
/// Input that used to crash, hang or be silently accepted, as a user meets it: a separate process that must exit with
/// code 2 and exactly one `error:` line, leaving no run folder behind.
/// </summary>
public sealed class BadInputCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-badinput-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Latin1Text => [.. System.Text.Encoding.Latin1.GetBytes("Call me Ishmael. Caf\u00e9 au lait. "), .. "Some years ago, never mind how long."u8];

    /// <summary>Runs hardfocus and returns its only stderr line, after checking the exit code and that there is only one.</summary>
    private static string OneErrorLine(params string[] args)
    {
        var (code, _, err) = CliTests.Run(args);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(code == 2, $"exit code {code}, stderr: {err}");
        Assert.True(lines.Length == 1, $"expected one line, got: {err}");
        Assert.StartsWith("error: ", lines[0]);
        return lines[0];
    }

    [Theory]
    [InlineData("--patience must be from 1 to 4096, got 2000000000.", "--patience", "2000000000")]
    [InlineData("--weight-decay must be in [0, 10], got NaN.", "--weight-decay", "NaN")]
    [InlineData("--weight-decay must be in [0, 10], got -1.", "--weight-decay", "-1")]
    [InlineData("--eval-batches must be from 1 to 100000, got 0.", "--eval-batches", "0")]
    [InlineData("--dropout must be in [0, 1), got NaN.", "--dropout", "NaN")]
    [InlineData("--lr must be in (0, 1E+32], got 1E+33.", "--lr", "1e33")]
    [InlineData("--lr must be in (0, 1E+32], got 0.", "--lr", "0")]
    [InlineData("--steps must be from 1 to 10000000, got 0.", "--steps", "0")]
    [InlineData("--portion 3 starts MidRanking's block at rank 3, but a pool holds only 2 samples", "--reweight", "midrank", "--portion", "3", "--batch-size", "2")]
    public void TrainOptionOutOfRange_IsRefusedBeforeAnythingIsWritten(string expected, params string[] option)
    {
        string run = Path.Combine(_dir, "run");
        var line = OneErrorLine(["train", "--model", "tiny", "--out", run, .. option]);
        Assert.Contains(expected, line);
        Assert.False(Directory.Exists(run));
    }

    [Theory]
    [InlineData("--max-tokens must be from 1 to 16384, got 2000000000.", "generate", "--prompt", "x", "--max-tokens", "2000000000")]
    [InlineData("--temperature must be in [0, 100], got NaN.", "generate", "--prompt", "x", "--temperature", "NaN")]
    [InlineData("--top-k must be from 0 to 1000000, got -1.", "generate", "--prompt", "x", "--top-k", "-1")]
    [InlineData("--max-sequences must be from 1 to 1000000, got 0.", "eval", "--max-sequences", "0")]
    [InlineData("--cloze must be from 1 to 100000, got 1000000.", "eval", "--cloze", "1000000")]
    [InlineData("--encoding-errors applies to --corpus", "eval", "--encoding-errors", "replace")]
    public void GenerateAndEvalOptionOutOfRange_IsRefusedBeforeLoading(string expected, params string[] args)
    {
        // The checkpoint does not exist: the range is checked first, so no model is loaded for a request that cannot run.
        Assert.Contains(expected, OneErrorLine([args[0], "--checkpoint", Path.Combine(_dir, "absent"), .. args[1..]]));
    }

    [Theory]
    [InlineData("--seeds must be from 1 to 100, got 1000.", "--seeds", "1000")]
    [InlineData("--steps-scale must be in (0, 100], got 1E+300.", "--steps-scale", "1e300")]
    public void ExperimentOptionOutOfRange_IsRefused(string expected, params string[] option)
    {
        string output = Path.Combine(_dir, "experiment");
        Assert.Contains(expected, OneErrorLine(["experiment", "--preset", "smoke", "--out", output, .. option]));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void NonUtf8Corpus_IsRefusedNamingTheFileAndByte_UnlessReplaceIsAsked()
    {
        string corpus = Write("latin1.txt", [.. Enumerable.Repeat(Latin1Text, 20).SelectMany(b => b)]);
        string run = Path.Combine(_dir, "run");
        string[] train = ["train", "--model", "tiny", "--corpus", corpus, "--batch-size", "2", "--seq-len", "16", "--steps", "1", "--out", run];
        Assert.Equal($"error: {corpus}:1: not valid UTF-8 at byte 20; give --encoding-errors replace to read bad bytes as U+FFFD.", OneErrorLine(train));
        Assert.False(Directory.Exists(run));

        var (code, _, err) = CliTests.Run([.. train, "--encoding-errors", "replace"]);
        Assert.True(code == 0, err);
        Assert.Equal("replace", JsonNode.Parse(File.ReadAllText(Path.Combine(run, RunFolder.TrainerFile)))!["Options"]!["EncodingErrors"]!.GetValue<string>());

        // eval reads a new --corpus by its own option, strict by default.
        Assert.Contains($"{corpus}:1: not valid UTF-8 at byte 20", OneErrorLine("eval", "--checkpoint", run, "--corpus", corpus));
        (code, _, err) = CliTests.Run("eval", "--checkpoint", run, "--corpus", corpus, "--encoding-errors", "replace");
        Assert.True(code == 0, err);
    }

    [Fact]
    public void NonUtf8FileInACorpusFolderOrJsonLines_IsNamed()
    {
        string folder = Path.Combine(_dir, "texts");
        Write("texts/a.txt", "fine text, all of it"u8.ToArray());
        string bad = Write("texts/b.txt", Latin1Text);
        Assert.Contains($"{bad}:1: not valid UTF-8 at byte 20", OneErrorLine("train", "--model", "tiny", "--corpus", folder, "--out", Path.Combine(_dir, "r1")));

        string jsonl = Write("docs.jsonl", [.. "{\"text\": \"fine\"}\n{\"text\": \"caf"u8, 0xE9, .. "\"}\n"u8]);
        Assert.Contains($"{jsonl}:2: not valid UTF-8 at byte 30", OneErrorLine("train", "--model", "tiny", "--corpus", jsonl, "--out", Path.Combine(_dir, "r2")));
        Assert.Contains($"{jsonl}:2: not valid UTF-8 at byte 30", OneErrorLine("train", "--model", "tiny", "--instruct", jsonl, "--out", Path.Combine(_dir, "r3")));
    }

    /// <summary>A real checkpoint of a two-step tiny run, saved in process, whose trainer.json the cases then damage.</summary>
    private string SavedRun()
    {
        string corpus = Write("corpus.txt", System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("Whenever I find myself growing grim about the mouth. ", 20))));
        var options = new TrainOptions { Model = "tiny", Corpus = corpus, BatchSize = 2, SeqLen = 16, Steps = 2, EvalEvery = 0 };
        string run = Path.Combine(_dir, "saved");
        using var session = new TrainingSession(options, new CpuBackend());
        session.Trainer.Step();
        session.Save(new RunFolder(run));
        return run;
    }

    [Theory]
    [InlineData("Options", null, "trainer.json: Options is missing.")]
    [InlineData("Options.Steps", null, "trainer.json: Options.Steps is missing.")]
    [InlineData("Loader.Epoch", null, "trainer.json: Loader.Epoch is missing.")]
    [InlineData("Options.Steps", "\"many\"", "trainer.json: Options.Steps must be an integer (32-bit) (line ")]
    [InlineData("Options.Reweight", "\"focal\"", "trainer.json: Options.Reweight must be one of erm, midrank, irdro")]
    [InlineData("Options.Patiense", "4", "trainer.json: Options.Patiense is not a field of trainer.json")]
    [InlineData("Options.Patience", "2000000000", "trainer.json: Options.Patience must be from 1 to 4096, got 2000000000.")]
    [InlineData("Loader.Position", "100000", "trainer.json: Loader.Position 100000 is past the")]
    public void HandEditedTrainerJson_GivesOneLineNamingTheField(string field, string? value, string expected)
    {
        string run = SavedRun();
        string path = Path.Combine(run, RunFolder.TrainerFile);
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var parts = field.Split('.');
        var parent = parts.Length == 1 ? root : root[parts[0]]!.AsObject();
        if (value == null) parent.Remove(parts[^1]);
        else parent[parts[^1]] = JsonNode.Parse(value);
        File.WriteAllText(path, root.ToJsonString());

        Assert.Contains(expected, OneErrorLine("train", "--resume", run, "--steps", "3"));
        // Loader.Position is checked against the data, which only a resume loads.
        if (field != "Loader.Position") Assert.Contains(expected, OneErrorLine("eval", "--checkpoint", run));
    }
}
