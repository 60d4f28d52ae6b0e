namespace HardFocus.Training.Plots;

/// <summary>How concentrated one step's weights are.</summary>
/// <param name="EssFraction">Effective sample size (sum w)^2 / sum w^2 as a fraction of the pool: 1 for uniform weights, 1/n for one sample.</param>
/// <param name="MaxWeight">The largest weight (of weights summing to one).</param>
/// <param name="NonZeroFraction">The share of the pool with a non-zero weight (MidRanking's kept block).</param>
public sealed record WeightStats(double EssFraction, double MaxWeight, double NonZeroFraction)
{
    public static WeightStats Of(double[] weights)
    {
        double sum = 0, squares = 0, max = 0;
        int nonZero = 0;
        foreach (double w in weights)
        {
            sum += w;
            squares += w * w;
            max = Math.Max(max, w);
            if (w != 0) nonZero++;
        }
        int n = weights.Length;
        return squares > 0 && n > 0
            ? new WeightStats(sum * sum / squares / n, max / sum, (double)nonZero / n)
            : new WeightStats(double.NaN, double.NaN, double.NaN);
    }
}

/// <summary>The single-run plots of a run folder, drawn from its metrics.jsonl and samples.jsonl.</summary>
public static class RunReport
{
    public const string LossPlot = "loss.png", WeightsPlot = "weights.png", HistogramPlot = "loss-histogram.png";

    /// <summary>Draws the plots into <paramref name="outDir"/> and returns the paths written. The run folder must hold metrics.jsonl.</summary>
    public static IReadOnlyList<string> Write(RunFolder run, string outDir)
    {
        string name = Path.GetFileName(run.Path);
        var metrics = RunLogReader.ReadMetrics(run.File(RunFolder.MetricsFile));
        if (metrics.Steps.Count == 0 && metrics.Evals.Count == 0)
            throw new InvalidDataException($"{run.File(RunFolder.MetricsFile)} has no rows yet.");
        var written = new List<string>();

        string loss = Path.Combine(outDir, LossPlot);
        Charts.Lines(loss, $"{name}: loss", "step", "loss (nats/token)",
        [
            Line("objective (weighted loss)", metrics.Steps, r => r.Step, r => r.Objective),
            Line("mean loss of the pool", metrics.Steps, r => r.Step, r => r.MeanLoss),
            .. metrics.Evals.Count > 0 ? [Line("validation loss", metrics.Evals, r => r.Step, r => r.Loss)] : Array.Empty<Series>(),
        ]);
        written.Add(loss);

        string samplesPath = run.File(RunFolder.SamplesFile);
        var samples = File.Exists(samplesPath) ? RunLogReader.ReadSamples(samplesPath) : [];
        if (samples.Count == 0) return written;

        var stats = samples.Select(s => (s.Step, Stats: WeightStats.Of(s.Weights))).ToList();
        string weights = Path.Combine(outDir, WeightsPlot);
        Charts.Lines(weights, $"{name}: weights per step (pool of {samples[^1].Weights.Length})", "step", "fraction",
        [
            Line("effective sample size / pool", stats, s => s.Step, s => s.Stats.EssFraction),
            Line("largest weight", stats, s => s.Step, s => s.Stats.MaxWeight),
            Line("share with non-zero weight", stats, s => s.Step, s => s.Stats.NonZeroFraction),
        ], yLimits: (0, 1.05));
        written.Add(weights);

        // The first and the last tenth of the logged steps (one step at least), so the shift in the loss distribution shows.
        int k = Math.Max(1, (int)Math.Ceiling(0.1 * samples.Count));
        var groups = new List<(string, float[])> { Group(samples.Take(k).ToList(), "first") };
        if (samples.Count > 1) groups.Add(Group(samples.TakeLast(k).ToList(), "last"));
        string histogram = Path.Combine(outDir, HistogramPlot);
        Charts.LossHistogram(histogram, groups.Count > 1 ? $"{name}: per-sample losses, first and last 10% of steps" : $"{name}: per-sample losses", groups);
        written.Add(histogram);
        return written;
    }

    private static Series Line<T>(string name, IReadOnlyList<T> rows, Func<T, int> step, Func<T, double> y) =>
        new(name, rows.Select(r => (double)step(r)).ToArray(), rows.Select(y).ToArray());

    private static (string, float[]) Group(List<SampleRow> rows, string which)
    {
        int from = rows[0].Step, to = rows[^1].Step;
        string steps = from == to ? $"step {from}" : $"steps {from}-{to}";
        return ($"{steps} ({which} 10%)", rows.SelectMany(r => r.Losses).ToArray());
    }
}
