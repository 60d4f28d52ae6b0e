using System.Text.Json;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using HardFocus.Training;

namespace HardFocus.Tests;

/// <summary>`hardfocus eval`'s evaluation suite as a user runs it, on a run folder holding an untrained tiny model.</summary>
public class EvalCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-evalcli-").FullName;
    private readonly string _run;

    public EvalCliTests()
    {
        // config.json and model.safetensors are all eval needs: without trainer.json it reads bytes and Moby-Dick.
        _run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(_run);
        using var model = new GptModel(GptConfig.Tiny(256), new CpuBackend(), seed: 1);
        File.WriteAllText(Path.Combine(_run, RunFolder.ConfigFile), model.Config.ToJson());
        Safetensors.Write(Path.Combine(_run, RunFolder.ModelFile),
            model.StateDict().Select(kv => new SafetensorsEntry(kv.Key, kv.Value.Shape.ToArray(), kv.Value.ToArray())).ToList());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonElement LastJson(string output) => JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;

    [Theory]
    [InlineData("{\"context\": \"x\", \"label\": 0}", "missing array field \"choices\"")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\", \" b\"], \"label\": 5}", "label 5 is out of range")]
    [InlineData("{\"context\": \"x\", \"choices\": [\" a\"], \"label\": 0}", "needs at least 2 choices")]
    public void BadChoicesFile_GivesOneErrorLineNamingTheLine(string bad, string expected)
    {
        string file = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllText(file, "{\"context\": \"ok\", \"choices\": [\" a\", \" b\"], \"label\": 0}\n" + bad + "\n");
        var (code, _, err) = CliTests.Run("eval", "--checkpoint", _run, "--choices", file);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"error: {file}:2: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    [Theory]
    [InlineData("--split", "train")]
    [InlineData("--max-sequences", "0")]
    [InlineData("--cloze", "3", "--cloze-choices", "1")]
    [InlineData("--write-items", "items.jsonl")]
    public void BadEvalOptions_GiveOneErrorLine(params string[] extra)
    {
        var (code, _, err) = CliTests.Run(["eval", "--checkpoint", _run, .. extra]);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
    }

    [Theory]
    [InlineData("--quantiles")]
    [InlineData("--split", "all")]
    [InlineData("--cloze", "5")]
    public void ChoicesWithCorpusOptions_IsRefused(params string[] extra)
    {
        string file = Path.Combine(_dir, "ok.jsonl");
        File.WriteAllText(file, "{\"context\": \"ok\", \"choices\": [\" a\", \" b\"], \"label\": 0}\n");
        var (code, _, err) = CliTests.Run(["eval", "--checkpoint", _run, "--choices", file, .. extra]);
        Assert.Equal(2, code);
        Assert.Equal($"error: --choices scores a file on its own; {extra[0]} does not apply to it.", err.Trim());
    }

    [Fact]
    public void LossHistogram_DrawsTheScoredSequencesLosses()
    {
        string png = Path.Combine(_dir, "losses.png");
        var (code, output, err) = CliTests.Run("eval", "--checkpoint", _run, "--max-sequences", "24", "--loss-histogram", png, "--json");
        Assert.True(code == 0, err);
        Assert.Equal(png, LastJson(output).GetProperty("loss_histogram").GetString());
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
    }

    [Fact]
    public void ClozeItemsWrittenByOneRunScoreTheSameThroughChoices()
    {
        string items = Path.Combine(_dir, "cloze.jsonl");
        var (code, output, err) = CliTests.Run("eval", "--checkpoint", _run, "--max-sequences", "40", "--quantiles",
            "--cloze", "30", "--cloze-context", "80", "--cloze-length", "20", "--write-items", items, "--json");
        Assert.True(code == 0, err);
        var result = LastJson(output);
        Assert.Equal("val", result.GetProperty("split").GetString());
        Assert.Equal(40, result.GetProperty("sequences").GetInt32());
        Assert.True(result.GetProperty("split_sequences").GetInt32() > 40);
        Assert.Equal(40 * 64, result.GetProperty("tokens").GetInt32());
        Assert.Equal(9, result.GetProperty("loss_quantiles").EnumerateObject().Count());
        Assert.InRange(result.GetProperty("loss_quantiles").GetProperty("0.5").GetDouble(), 5.0, 6.0); // about ln 256 untrained
        var cloze = result.GetProperty("cloze");
        Assert.Equal(30, cloze.GetProperty("items").GetInt32());
        Assert.Equal(30, File.ReadAllLines(items).Length);

        (code, output, err) = CliTests.Run("eval", "--checkpoint", _run, "--choices", items, "--json");
        Assert.True(code == 0, err);
        var rescored = LastJson(output);
        Assert.Equal(cloze.GetProperty("acc").GetDouble(), rescored.GetProperty("acc").GetDouble());
        Assert.Equal(cloze.GetProperty("acc_norm").GetDouble(), rescored.GetProperty("acc_norm").GetDouble());
        Assert.False(rescored.TryGetProperty("val_ppl", out _)); // --choices scores the file and nothing else
    }
}
