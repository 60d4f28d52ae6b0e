using HardFocus.Engine.Autograd;
using HardFocus.Models;
using HardFocus.Training.Data;

namespace HardFocus.Training.Eval;

/// <summary>Summary of per-sample losses: mean, population standard deviation and quantiles (q, value), q ascending.</summary>
public sealed record LossSummary(int Count, double Mean, double Std, IReadOnlyList<(double Q, double Value)> Quantiles);

/// <summary>
/// How the evaluated model's per-sample losses are spread over a corpus: the quantity the reweighters act on, so its
/// shape (a long hard tail or not) says how much MidRanking or IR-DRO can change.
/// </summary>
public static class LossDistribution
{
    public static readonly double[] DefaultQuantiles = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

    /// <summary>
    /// The per-sample loss l_i (masked mean token cross-entropy, as training computes it) of each sample, in order;
    /// with a cap, of the <see cref="EvalSplits.Spread"/> selection. Runs without gradients, dropout off.
    /// </summary>
    public static float[] PerSampleLosses(DecoderModel model, IReadOnlyList<Sample> samples, int batchSize, int maxSequences = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        samples = EvalSplits.Spread(samples, maxSequences);
        var losses = new float[samples.Count];
        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            using var noGrad = GradMode.NoGrad();
            for (int start = 0; start < samples.Count; start += batchSize)
            {
                int n = Math.Min(batchSize, samples.Count - start);
                var batch = new Sample[n];
                for (int i = 0; i < n; i++) batch[i] = samples[start + i];
                using var scope = TensorScope.Begin();
                var (ids, targets, mask) = BatchTensors.Create(batch, model);
                PerSampleLoss.Compute(model, ids, targets, mask).ToArray().CopyTo(losses, start);
            }
        }
        finally { model.Training = wasTraining; }
        return losses;
    }

    public static LossSummary Summarize(IReadOnlyList<float> losses, IReadOnlyList<double>? quantiles = null)
    {
        if (losses.Count == 0) throw new ArgumentException("There are no losses to summarise.", nameof(losses));
        var sorted = losses.Select(l => (double)l).Order().ToArray();
        double mean = sorted.Average();
        // Population deviation (numpy's default): this describes the losses seen, not an estimate of a wider population.
        double std = Math.Sqrt(sorted.Sum(l => (l - mean) * (l - mean)) / sorted.Length);
        var levels = quantiles ?? DefaultQuantiles;
        return new LossSummary(sorted.Length, mean, std, levels.Order().Select(q => (q, Quantile(sorted, q))).ToArray());
    }

    /// <summary>Linear interpolation between the order statistics at q * (n - 1) (numpy's default, type 7).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) throw new ArgumentException("The list is empty.", nameof(sorted));
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "A quantile lies in [0, 1].");
        double position = q * (sorted.Count - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
