using System.Text.Json;

namespace HardFocus.Training;

/// <summary>A training row of metrics.jsonl. A value the run logged as null (it was not finite) reads as NaN.</summary>
public sealed record StepRow(int Step, double Objective, double MeanLoss, double LearningRate, double TokensPerSecond, double? GradNorm);

/// <summary>An evaluation row of metrics.jsonl: validation loss and perplexity at a step (step 0 is before training).</summary>
public sealed record EvalRow(int Step, double Loss, double Perplexity);

/// <summary>A row of samples.jsonl: the pool's per-sample losses and weights, in pool order.</summary>
public sealed record SampleRow(int Step, float[] Losses, double[] Weights);

public sealed record RunMetrics(IReadOnlyList<StepRow> Steps, IReadOnlyList<EvalRow> Evals);

/// <summary>
/// Reads the rows <see cref="RunLog"/> writes back as typed values. A run killed mid-write leaves its last line cut
/// short; that line is skipped. A bad line anywhere else means the file is not a run log and is an error. Fields this
/// reader does not know are ignored, so logs that carry more columns still read.
/// </summary>
public static class RunLogReader
{
    public static RunMetrics ReadMetrics(string path)
    {
        var steps = new List<StepRow>();
        var evals = new List<EvalRow>();
        foreach (var row in Rows(path))
        {
            int step = row.GetProperty("step").GetInt32();
            if (row.TryGetProperty("val_loss", out _))
                evals.Add(new EvalRow(step, Number(row, "val_loss"), Number(row, "val_ppl")));
            else if (row.TryGetProperty("loss", out _))
                steps.Add(new StepRow(step, Number(row, "loss"), Number(row, "mean_loss"), Number(row, "lr"), Number(row, "tokens_per_s"),
                    row.TryGetProperty("grad_norm", out _) ? Number(row, "grad_norm") : null));
        }
        return new RunMetrics(steps, evals);
    }

    public static IReadOnlyList<SampleRow> ReadSamples(string path) =>
        Rows(path).Select(row =>
        {
            int step = row.GetProperty("step").GetInt32();
            var losses = Numbers(row, "losses", path, step);
            var weights = Numbers(row, "weights", path, step);
            if (losses.Length != weights.Length)
                throw new InvalidDataException($"{path}, step {step}: {losses.Length} losses but {weights.Length} weights.");
            return new SampleRow(step, losses.Select(l => (float)l).ToArray(), weights);
        }).ToList();

    private static double[] Numbers(JsonElement row, string name, string path, int step) =>
        row.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(NumberOrNaN).ToArray()
            : throw new InvalidDataException($"{path}, step {step}: no \"{name}\" array.");

    /// <summary>The file's rows as parsed JSON objects that carry an integer step; a cut-short last line is left out.</summary>
    private static IEnumerable<JsonElement> Rows(string path)
    {
        var lines = File.ReadAllLines(path);
        int last = Array.FindLastIndex(lines, l => !string.IsNullOrWhiteSpace(l));
        for (int i = 0; i <= last; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            JsonElement row;
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                row = doc.RootElement.Clone();
                if (row.ValueKind != JsonValueKind.Object || !row.TryGetProperty("step", out var s) || !s.TryGetInt32(out _))
                    throw new JsonException("a row needs an integer \"step\"");
            }
            catch (JsonException e)
            {
                if (i == last) yield break; // the row being written when the run stopped
                throw new InvalidDataException($"{path}, line {i + 1}: not a run log row ({e.Message}).");
            }
            yield return row;
        }
    }

    private static double Number(JsonElement row, string name) =>
        row.TryGetProperty(name, out var v) ? NumberOrNaN(v) : double.NaN;

    private static double NumberOrNaN(JsonElement v) => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
}
