namespace HardFocus.Training.Experiment;

/// <summary>Mean and sample standard deviation of a metric over seeds.</summary>
public readonly record struct Summary(int Count, double Mean, double StdDev);

/// <summary>A paired difference (method minus baseline, paired by seed) with its two-sided 95% t interval.</summary>
public readonly record struct PairedDifference(int Count, double Mean, double Low, double High)
{
    /// <summary>Whether the interval lies entirely on one side of zero; false with fewer than two pairs.</summary>
    public bool ExcludesZero => Count >= 2 && (Low > 0 || High < 0);
}

public static class Statistics
{
    public static Summary Summarize(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return new Summary(0, double.NaN, double.NaN);
        double mean = values.Average();
        double std = values.Count < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return new Summary(values.Count, mean, std);
    }

    /// <summary>
    /// The mean of the paired differences with mean ± t(0.975, n-1) · sd / sqrt(n). Pairing by seed removes the
    /// variation that seeds share (the base model, the data order), which is most of it. With one pair the interval is
    /// unbounded: one seed says nothing about the spread.
    /// </summary>
    public static PairedDifference Paired(IReadOnlyList<double> method, IReadOnlyList<double> baseline)
    {
        if (method.Count != baseline.Count) throw new ArgumentException("Paired samples must have the same length.");
        var diffs = method.Zip(baseline, (m, b) => m - b).ToArray();
        if (diffs.Length == 0) return new PairedDifference(0, double.NaN, double.NaN, double.NaN);
        var s = Summarize(diffs);
        if (diffs.Length < 2) return new PairedDifference(1, s.Mean, double.NegativeInfinity, double.PositiveInfinity);
        double half = StudentT975(diffs.Length - 1) * s.StdDev / Math.Sqrt(diffs.Length);
        return new PairedDifference(diffs.Length, s.Mean, s.Mean - half, s.Mean + half);
    }

    private static readonly double[] T975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    /// <summary>The 97.5% quantile of Student's t: tabulated up to 30 degrees of freedom, beyond that the
    /// Cornish-Fisher expansion around the normal quantile (error below 1e-3 there).</summary>
    public static double StudentT975(int degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(degreesOfFreedom);
        if (degreesOfFreedom <= T975.Length) return T975[degreesOfFreedom - 1];
        const double z = 1.959964;
        double v = degreesOfFreedom;
        return z + (z * z * z + z) / (4 * v) + (5 * Math.Pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v);
    }
}
