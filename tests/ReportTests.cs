using System.Text.Json.Nodes;
using HardFocus.Training;
using HardFocus.Training.Plots;

namespace HardFocus.Tests;

public class ReportTests
{
    private const string Metrics = """
        {"step":0,"val_loss":5.5,"val_ppl":244.7}
        {"step":1,"loss":5.4,"mean_loss":5.3,"lr":0.001,"tokens_per_s":1000.5,"grad_norm":1.5}
        {"step":2,"loss":null,"mean_loss":5.1,"lr":0.001,"tokens_per_s":1100,"ess":0.9}
        {"step":2,"val_loss":5.0,"val_ppl":148.4}
        {"step":3,"loss":4.9,"mea
        """;

    [Fact]
    public void ReadMetrics_TypesRows_SkipsACutShortLastLine()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("metrics.jsonl"), Metrics); // no newline after the cut-short row, as a kill leaves it
        var m = RunLogReader.ReadMetrics(dir.File("metrics.jsonl"));
        Assert.Equal([1, 2], m.Steps.Select(s => s.Step));
        Assert.Equal(new StepRow(1, 5.4, 5.3, 0.001, 1000.5, 1.5), m.Steps[0]);
        Assert.True(double.IsNaN(m.Steps[1].Objective)); // a non-finite loss is logged as null
        Assert.Null(m.Steps[1].GradNorm);
        Assert.Equal([new EvalRow(0, 5.5, 244.7), new EvalRow(2, 5.0, 148.4)], m.Evals);
    }

    [Fact]
    public void ReadMetrics_ABadLineBeforeTheEnd_IsAnError()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("metrics.jsonl"), "{\"step\":1,\"loss\":5.4}\n{\"step\":2,\"lo\n{\"step\":3,\"loss\":5.0}\n");
        var e = Assert.Throws<InvalidDataException>(() => RunLogReader.ReadMetrics(dir.File("metrics.jsonl")));
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void ReadSamples_TypesRows_SkipsACutShortLastLine()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("samples.jsonl"),
            "{\"step\":1,\"losses\":[2.5,null,3.5],\"weights\":[0.25,0.25,0.5]}\n{\"step\":2,\"losses\":[2.0,3.0,4.0],\"weights\":[0.2,0.3,0.5]}\n{\"step\":3,\"losses\":[2.0,3.");
        var rows = RunLogReader.ReadSamples(dir.File("samples.jsonl"));
        Assert.Equal([1, 2], rows.Select(r => r.Step));
        Assert.Equal(2.5f, rows[0].Losses[0]);
        Assert.True(float.IsNaN(rows[0].Losses[1]));
        Assert.Equal([0.2, 0.3, 0.5], rows[1].Weights);
    }

    /// <summary>A run folder's logs as the trainer writes them: IR-DRO weights over a pool of 8, evaluations every 10 steps.</summary>
    private static void WriteRun(string dir, int steps)
    {
        Directory.CreateDirectory(dir);
        var rng = new Random(3);
        using var metrics = new StreamWriter(Path.Combine(dir, RunFolder.MetricsFile));
        using var samples = new StreamWriter(Path.Combine(dir, RunFolder.SamplesFile));
        metrics.WriteLine(new JsonObject { ["step"] = 0, ["val_loss"] = 5.5, ["val_ppl"] = Math.Exp(5.5) }.ToJsonString());
        for (int step = 1; step <= steps; step++)
        {
            var losses = Enumerable.Range(0, 8).Select(_ => 2 + 3 * Math.Exp(-step / 20.0) + rng.NextDouble()).ToArray();
            var e = losses.Select(l => Math.Exp(l - losses.Max())).ToArray();
            var weights = e.Select(v => v / e.Sum()).ToArray();
            metrics.WriteLine(new JsonObject
            {
                ["step"] = step, ["loss"] = losses.Zip(weights, (l, w) => l * w).Sum(), ["mean_loss"] = losses.Average(), ["lr"] = 1e-3, ["tokens_per_s"] = 1000.0,
            }.ToJsonString());
            samples.WriteLine(new JsonObject
            {
                ["step"] = step,
                ["losses"] = new JsonArray([.. losses.Select(l => (JsonNode?)(float)l)]),
                ["weights"] = new JsonArray([.. weights.Select(w => (JsonNode?)w)]),
            }.ToJsonString());
            if (step % 10 == 0) metrics.WriteLine(new JsonObject { ["step"] = step, ["val_loss"] = 2 + 3 * Math.Exp(-step / 20.0), ["val_ppl"] = 10.0 }.ToJsonString());
        }
    }

    [Fact]
    public void Report_DrawsThreePlotsIntoTheRunFolder()
    {
        using var dir = new TempFolder();
        string run = dir.File("irdro");
        WriteRun(run, 40);
        File.AppendAllText(Path.Combine(run, RunFolder.SamplesFile), "{\"step\":41,\"losses\":[2.0,"); // killed mid-write

        var (code, output, err) = CliTests.Run("report", run);
        Assert.True(code == 0, err);
        var files = new[] { RunReport.LossPlot, RunReport.WeightsPlot, RunReport.HistogramPlot }.Select(f => Path.Combine(run, f)).ToArray();
        Assert.Equal(files, output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        foreach (var file in files) PlotTests.AssertChart(file);
    }

    [Fact]
    public void Report_WithOut_WritesThere_AndASingleStepRunStillDraws()
    {
        using var dir = new TempFolder();
        string run = dir.File("one-step");
        WriteRun(run, 1);
        var written = RunReport.Write(new RunFolder(run), dir.File("plots"));
        Assert.Equal(3, written.Count);
        Assert.All(written, f => Assert.StartsWith(dir.File("plots"), f));
        foreach (var file in written) PlotTests.AssertChart(file);
        Assert.False(File.Exists(Path.Combine(run, RunReport.LossPlot)));
    }

    [Fact]
    public void Report_WithoutSamples_DrawsTheLossPlotOnly()
    {
        using var dir = new TempFolder();
        string run = dir.File("metrics-only");
        WriteRun(run, 5);
        File.Delete(Path.Combine(run, RunFolder.SamplesFile));
        var written = RunReport.Write(new RunFolder(run), run);
        Assert.Equal([Path.Combine(run, RunReport.LossPlot)], written);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("empty")]
    [InlineData("no-rows")]
    public void Report_NotARunFolder_GivesOneLineAndExitCode2(string kind)
    {
        using var dir = new TempFolder();
        string run = dir.File(kind);
        if (kind != "missing") Directory.CreateDirectory(run);
        if (kind == "no-rows") File.WriteAllText(Path.Combine(run, RunFolder.MetricsFile), "");
        var (code, _, err) = CliTests.Run("report", run);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error:", lines[0]);
        Assert.Contains(run, lines[0]);
        Assert.Empty(Directory.Exists(run) ? Directory.GetFiles(run, "*.png") : []);
    }

    [Fact]
    public void WeightStats_UniformMidRankingAndOneHot()
    {
        var uniform = WeightStats.Of([0.25, 0.25, 0.25, 0.25]);
        Assert.Equal(1.0, uniform.EssFraction, 12);
        Assert.Equal(0.25, uniform.MaxWeight, 12);
        Assert.Equal(1.0, uniform.NonZeroFraction, 12);

        var block = WeightStats.Of([0, 0.5, 0.5, 0]);
        Assert.Equal(0.5, block.EssFraction, 12);
        Assert.Equal(0.5, block.MaxWeight, 12);
        Assert.Equal(0.5, block.NonZeroFraction, 12);

        var oneHot = WeightStats.Of([0, 0, 1, 0, 0]);
        Assert.Equal(0.2, oneHot.EssFraction, 12);
        Assert.Equal(1.0, oneHot.MaxWeight, 12);
        Assert.Equal(0.2, oneHot.NonZeroFraction, 12);
    }
}
