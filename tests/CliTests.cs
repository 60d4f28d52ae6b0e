using System.Diagnostics;
using System.Text.Json;
using HardFocus.Training;
using HardFocus.Training.Cli;
using HardFocus.Training.Data;

namespace HardFocus.Tests;

/// <summary>The hardfocus command as a user runs it: a separate process, its exit code and its output.</summary>
public class CliTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "hardfocus.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "hardfocus did not finish in 2 minutes");
        return (process.ExitCode, output.Result, error.Result);
    }

    [Theory]
    [InlineData("train", "--steps", "abc")]
    [InlineData("train", "--reweight", "focal")]
    [InlineData("train", "--model", "huge")]
    [InlineData("train", "--device", "tpu")]
    [InlineData("train", "--corpus", "/no/such/file.txt")]
    [InlineData("eval", "--checkpoint", "/no/such/run")]
    [InlineData("train", "--batch-size", "0")]
    [InlineData("experiment", "--preset", "huge", "--out", "/no/such/experiment")]
    [InlineData("experiment", "--preset", "smoke", "--seeds", "0", "--out", "/no/such/experiment")]
    [InlineData("experiment", "--preset", "smoke", "--steps-scale", "-1", "--out", "/no/such/experiment")]
    [InlineData("experiment", "--preset", "continual", "--corpus", "/no/such/file.txt", "--out", "/no/such/experiment")]
    [InlineData("experiment", "--preset", "smoke", "--ood", "builtin:brown", "--out", "/no/such/experiment")]
    [InlineData("experiment", "--preset", "smoke")]
    public void BadInput_GivesOneLineAndExitCode2(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error:", lines[0]);
    }

    [Theory]
    [InlineData("{\"preset\":\"continual\",\"steps_scale\":1}", "holds a different experiment")]
    [InlineData(null, "is not empty and holds no experiment")]
    public void ExperimentFolderHoldingSomethingElse_IsRefused(string? manifest, string expected)
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-cli-exp-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, manifest == null ? "notes.txt" : "experiment.json"), manifest ?? "mine");
            var (code, _, err) = Run("experiment", "--preset", "smoke", "--out", dir);
            Assert.Equal(2, code);
            Assert.StartsWith("error:", err.Trim());
            Assert.Contains(expected, err);
            Assert.Single(Directory.GetFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AbsentDevice_GivesOneLineAndExitCode2()
    {
        // Only meaningful where no CUDA device is present, as on CI; on a GPU machine the request would succeed.
        if (HardFocus.Engine.Backends.Ilgpu.IlgpuDevices.List().Any(d => d.Kind == "cuda")) return;
        var (code, _, err) = Run("train", "--device", "cuda", "--model", "tiny", "--steps", "1");
        Assert.Equal(2, code);
        Assert.Equal("error: --device cuda: no CUDA device found.", err.Trim());
    }

    [Fact]
    public void Help_ExplainsEveryTrainOption()
    {
        var (code, output, _) = Run("train", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--corpus", "--instruct", "--template", "--reweight", "--lambda", "--frac", "--portion", "--alpha", "--trim", "--patience", "--resume", "--device" })
            Assert.Contains(option, output);
        // Every option with a fixed set of values lists them.
        foreach (var values in new[] { "erm|midrank|irdro|cvar|trimmed-irdro|midloss|running-irdro", "graphs|rescore", "constant|cosine", "adamw|sgd", "alpaca|compact", "left|right" })
            Assert.Contains(values, output);
    }

    [Fact]
    public void UnknownReweighting_NamesTheAllowedValues()
    {
        var (code, _, err) = Run("train", "--reweight", "focal");
        Assert.Equal(2, code);
        Assert.Equal("error: --reweight must be one of erm, midrank, irdro, cvar, trimmed-irdro, midloss, running-irdro, got 'focal'.", err.Trim());
    }

    [Fact]
    public void OptionNames_AreKebabCaseAndParseBack()
    {
        Assert.Equal(["erm", "midrank", "irdro", "cvar", "trimmed-irdro", "midloss", "running-irdro"], OptionNames.Names<ReweightMethod>());
        Assert.Equal(["constant", "cosine"], OptionNames.Names<LrSchedule>());
        Assert.Equal(["adamw", "sgd"], OptionNames.Names<OptimizerKind>());
        Assert.Equal(["graphs", "rescore"], OptionNames.Names<PoolMode>());
        Assert.Equal(["alpaca", "compact"], OptionNames.Names<PromptTemplate>());
        foreach (var method in Enum.GetValues<ReweightMethod>())
            Assert.Equal(method, OptionNames.Parse<ReweightMethod>(OptionNames.Of(method), "--reweight"));
        var error = Assert.Throws<UserError>(() => OptionNames.Parse<PoolMode>("Graphs", "--pool-mode"));
        Assert.Equal("--pool-mode must be one of graphs, rescore, got 'Graphs'.", error.Message);
    }

    [Fact]
    public void TrainThenResumeThenEval_WritesTheRunFolder()
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-cli-").FullName;
        try
        {
            string corpus = Path.Combine(dir, "corpus.txt"), run = Path.Combine(dir, "run");
            File.WriteAllText(corpus, string.Concat(Enumerable.Repeat("Whenever I find myself growing grim about the mouth, I account it high time to get to sea. ", 12)));
            string[] common = ["--model", "tiny", "--corpus", corpus, "--batch-size", "2", "--seq-len", "16", "--reweight", "midrank", "--frac", "0.5", "--portion", "1", "--patience", "2"];
            var (code, output, err) = Run(["train", .. common, "--steps", "2", "--out", run]);
            Assert.True(code == 0, err);
            Assert.Contains("validation before", output);
            foreach (var file in new[] { "config.json", "model.safetensors", "optimizer.safetensors", "trainer.json", "metrics.jsonl", "samples.jsonl" })
                Assert.True(File.Exists(Path.Combine(run, file)), file);

            Assert.Equal(2, Run(["train", .. common, "--steps", "2", "--out", run]).Code); // never overwrites a run

            (code, _, err) = Run("train", "--resume", run, "--steps", "3");
            Assert.True(code == 0, err);
            var samples = File.ReadAllLines(Path.Combine(run, "samples.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal([1, 2, 3], samples.Select(s => s.GetProperty("step").GetInt32()));
            var weights = samples[2].GetProperty("weights").EnumerateArray().Select(w => w.GetDouble()).ToArray();
            Assert.Equal(4, weights.Length);
            Assert.Equal(2, weights.Count(w => w == 0.5));
            var metrics = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Contains(metrics, m => m.TryGetProperty("tokens_per_s", out _) && m.GetProperty("step").GetInt32() == 3);
            Assert.Contains(metrics, m => m.TryGetProperty("val_ppl", out _));

            (code, output, err) = Run("eval", "--checkpoint", run, "--json");
            Assert.True(code == 0, err);
            var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
            Assert.True(result.GetProperty("val_ppl").GetDouble() > 1);

            (code, output, err) = Run("generate", "--checkpoint", run, "--prompt", "Whenever", "--max-tokens", "5");
            Assert.True(code == 0, err);
            Assert.StartsWith("Whenever", output);
        }
        finally { Directory.Delete(dir, true); }
    }
}
