using System.Text.Json;
using System.Text.Json.Nodes;

namespace HardFocus.Training;

/// <summary>Appends one JSON object per line to metrics.jsonl and samples.jsonl, flushed per row so a crash loses nothing written.</summary>
public sealed class RunLog : IDisposable
{
    private readonly StreamWriter _metrics, _samples;

    public RunLog(RunFolder folder)
    {
        Directory.CreateDirectory(folder.Path);
        _metrics = new StreamWriter(folder.File(RunFolder.MetricsFile), append: true) { AutoFlush = true };
        _samples = new StreamWriter(folder.File(RunFolder.SamplesFile), append: true) { AutoFlush = true };
    }

    public void Step(StepResult r)
    {
        var row = new JsonObject
        {
            ["step"] = r.Step,
            ["loss"] = Finite(r.Objective),
            ["mean_loss"] = Finite(r.MeanLoss),
            ["lr"] = r.LearningRate,
            ["tokens_per_s"] = Math.Round(r.TokensPerSecond, 1),
        };
        if (r.GradNorm is float g) row["grad_norm"] = Finite(g);
        if (r.GradientSumSeconds is double sum) row["grad_sum_s"] = Math.Round(sum, 5);
        _metrics.WriteLine(row.ToJsonString());
        _samples.WriteLine(new JsonObject
        {
            ["step"] = r.Step,
            ["losses"] = new JsonArray(r.Losses.Select(l => (JsonNode?)Finite(l)).ToArray()),
            ["weights"] = new JsonArray(r.Weights.Select(w => (JsonNode?)w).ToArray()),
        }.ToJsonString());
    }

    /// <summary>A skipped step: a metrics row only, marked "skipped", with how many steps in a row have been skipped.
    /// It carries no "loss", so readers that take rows with a loss as training steps pass over it; its step is the one
    /// that was tried, and the next row tries the same step again.</summary>
    public void Skipped(StepResult r, int inARow)
    {
        var row = new JsonObject { ["step"] = r.Step, ["skipped"] = true, ["skipped_in_a_row"] = inARow, ["mean_loss"] = Finite(r.MeanLoss), ["lr"] = r.LearningRate };
        if (r.GradNorm is float g) row["grad_norm"] = Finite(g);
        _metrics.WriteLine(row.ToJsonString());
    }

    public void Eval(int step, Evaluation e) =>
        _metrics.WriteLine(new JsonObject { ["step"] = step, ["val_loss"] = Finite(e.Loss), ["val_ppl"] = Finite(e.Perplexity) }.ToJsonString());

    /// <summary>JSON has no NaN or infinity; a diverged value is written as null rather than breaking the file.</summary>
    private static JsonNode? Finite(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    public void Dispose()
    {
        _metrics.Dispose();
        _samples.Dispose();
    }
}
