using System.Globalization;
using System.Text.Json.Nodes;
using HardFocus.Training.Cli;
using HardFocus.Training.Experiment;

namespace HardFocus.Tests;

/// <summary>The smoke experiment end to end, run once for the whole class (about a minute on 2 cores).</summary>
public sealed class SmokeExperimentFixture : IDisposable
{
    public SmokeExperimentFixture()
    {
        Root = Path.Combine(Directory.CreateTempSubdirectory("hardfocus-experiment-").FullName, "smoke");
        FirstRun = new RecordingProgress();
        Assert.Equal(0, ExperimentCommand.Run("smoke", seeds: 2, "cpu", 1.0, null, null, Root, FirstRun));
    }

    public string Root { get; }
    public RecordingProgress FirstRun { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path.GetDirectoryName(Root)!, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Counts what the runner reports, so a test can tell which arms trained.</summary>
public sealed class RecordingProgress : IExperimentProgress, IArmProgress
{
    public List<string> Trained { get; } = [];
    public int Evaluated { get; private set; }
    public int LastStep { get; private set; }

    public void Run(Action<IArmProgress> body) => body(this);
    public void Begin(string arm, int fromStep, int totalSteps) => Trained.Add(arm);
    public void Step(int step, (TimeSpan Elapsed, TimeSpan? Left) time) => LastStep = step;
    public void Finished(string summary) => Evaluated++;
}

public class ExperimentTests(SmokeExperimentFixture smoke) : IClassFixture<SmokeExperimentFixture>
{
    private static readonly string[] ContinualMethods =
        ["base", "erm", "midrank-p0", "midrank-p1", "irdro-0.05", "irdro-0.1", "irdro-0.3", "cvar-0.3", "trimmed-irdro", "midloss", "running-irdro",
         "midrank-p0-pool4", "midrank-p1-pool4", "cvar-0.3-pool3"];

    [Fact]
    public void Smoke_WritesEveryResultFile_WithEveryMethod()
    {
        string md = File.ReadAllText(Path.Combine(smoke.Root, "results.md"));
        foreach (string method in ContinualMethods) Assert.Contains($"| {method} |", md);
        Assert.Contains("## instruct-noise-30", md);
        var plots = Directory.GetFiles(Path.Combine(smoke.Root, "plots"), "*.png");
        Assert.True(plots.Length >= 3, $"{plots.Length} plots");
        foreach (var plot in plots) Assert.Contains($"(plots/{Path.GetFileName(plot)})", md);

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(smoke.Root, "summary.json")))!;
        Assert.Equal(2, summary["seeds"]!.GetValue<int>());
        var continual = summary["settings"]!["continual"]!.AsObject();
        Assert.Equal(ContinualMethods, continual.Select(kv => kv.Key));
        // Every method's metrics are finite, and each non-ERM method has a paired difference over both seeds.
        foreach (var (method, node) in continual)
            foreach (var (metric, value) in node!["metrics"]!.AsObject())
            {
                Assert.True(double.IsFinite(value!["mean"]!.GetValue<double>()), $"{method} {metric}");
                Assert.Equal(2, value["n"]!.GetValue<int>());
                if (method != "erm") Assert.True(double.IsFinite(value["vs_erm"]!["mean"]!.GetValue<double>()), $"{method} {metric} vs erm");
            }
    }

    [Fact]
    public void Smoke_Csv_HoldsOneFiniteRowPerArmAndMetric()
    {
        var rows = File.ReadAllLines(Path.Combine(smoke.Root, "results.csv"));
        Assert.Equal("setting,method,budget,seed,metric,value", rows[0]);
        var cells = rows.Skip(1).Select(r => r.Split(',')).ToList();
        Assert.All(cells, c => Assert.True(double.IsFinite(double.Parse(c[5], CultureInfo.InvariantCulture)), string.Join(',', c)));
        // 14 continual arms x 5 metrics x 2 seeds, and 2 noise rates x 3 methods x 7 metrics x 2 seeds.
        Assert.Equal(14 * 5 * 2 + 2 * 3 * 7 * 2, cells.Count);
    }

    [Fact]
    public void Smoke_ArmsAreOrdinaryRunFolders_ThatStartFromTheirSeedsBase()
    {
        string arm = Path.Combine(smoke.Root, "continual", "seed-2", "irdro-0.1");
        foreach (var file in new[] { "config.json", "model.safetensors", "trainer.json", "metrics.jsonl", "samples.jsonl", ExperimentRunner.EvalFile })
            Assert.True(File.Exists(Path.Combine(arm, file)), file);
        string baseLog = File.ReadAllText(Path.Combine(smoke.Root, "experiment.log"));
        Assert.Contains("continual seed 2 irdro-0.1", baseLog);
        Assert.Equal(2 * 14 + 2 * 2 * 3, smoke.FirstRun.Trained.Count);
        Assert.Equal(smoke.FirstRun.Trained.Count, smoke.FirstRun.Evaluated);
    }

    [Fact]
    public void SecondInvocation_RerunsNothing_AndContinuesWhatWasCutShort()
    {
        // Simulate a kill: one arm lost its evaluation, another never reached its first checkpoint.
        string evaluatedOnly = Path.Combine(smoke.Root, "continual", "seed-1", "cvar-0.3");
        string restarted = Path.Combine(smoke.Root, "instruct", "noise-30", "seed-2", "midrank-p1");
        var untouched = Path.Combine(smoke.Root, "continual", "seed-1", "erm", "model.safetensors");
        var stamp = File.GetLastWriteTimeUtc(untouched);
        File.Delete(Path.Combine(evaluatedOnly, ExperimentRunner.EvalFile));
        Directory.Delete(restarted, recursive: true);
        Directory.CreateDirectory(restarted);
        File.WriteAllText(Path.Combine(restarted, "metrics.jsonl"), "{\"step\":1,\"lo");

        var again = new RecordingProgress();
        Assert.Equal(0, ExperimentCommand.Run("smoke", seeds: 2, "cpu", 1.0, null, null, smoke.Root, again));
        Assert.Equal(["[39/40] instruct-noise-30 seed 2 midrank-p1"], again.Trained);
        Assert.Equal(2, again.Evaluated);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(untouched));
        Assert.True(File.Exists(Path.Combine(evaluatedOnly, ExperimentRunner.EvalFile)));
    }

    [Fact]
    public void DifferentExperimentInTheFolder_IsRefused()
    {
        var e = Assert.Throws<UserError>(() => ExperimentCommand.Run("smoke", 2, "cpu", 2.0, null, null, smoke.Root, new RecordingProgress()));
        Assert.Contains("holds a different experiment", e.Message);
    }
}

/// <summary>The experiment with `--model llama`: every arm trains the presets' shapes as LLaMA decoders.</summary>
public sealed class LlamaExperimentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-llama-experiment-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Smoke_WithLlama_TrainsLlamaArms_AndRecordsTheFamily()
    {
        string root = Path.Combine(_dir, "smoke");
        Assert.Equal(0, ExperimentCommand.Run("smoke", seeds: 1, "cpu", 0.1, null, null, root, new RecordingProgress(), family: "llama"));
        Assert.True(File.Exists(Path.Combine(root, "results.md")));
        var configs = Directory.GetFiles(root, "config.json", SearchOption.AllDirectories);
        Assert.NotEmpty(configs);
        Assert.All(configs, path => Assert.Equal("llama", JsonNode.Parse(File.ReadAllText(path))!["model_type"]!.GetValue<string>()));
        // The same folder with the GPT family is another experiment.
        var e = Assert.Throws<UserError>(() => ExperimentCommand.Run("smoke", 1, "cpu", 0.1, null, null, root, new RecordingProgress()));
        Assert.Contains("holds a different experiment", e.Message);
    }
}
