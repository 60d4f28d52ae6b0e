using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace HardFocus.Training.Plots;

/// <summary>
/// A base-10 log Y axis. ScottPlot 5 has no log scale: data are plotted as log10(value) and this puts ticks labelled
/// with the values themselves at 1, 2, 5 times powers of ten, or at finer mantissas when the data span less than a
/// decade (losses between 2 and 6, say), so that every chart gets a few labelled ticks.
/// </summary>
internal static class LogAxis
{
    // Mantissas of labelled ticks, coarse to fine; the first that gives enough labels inside the data's range wins,
    // and the next finer one places the minor ticks.
    private static readonly double[][] Mantissas =
    [
        [1],
        [1, 2, 5],
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        [.. Enumerable.Range(2, 18).Select(i => i / 2.0)], // 1, 1.5, 2, ..., 9.5
        [.. Enumerable.Range(10, 90).Select(i => i / 10.0)], // 1, 1.1, 1.2, ..., 9.9
    ];

    public static void ApplyY(Plot plot, double min, double max)
    {
        var (lo, hi, majors, minors) = Layout(min, max);
        var ticks = new NumericManual();
        foreach (var (position, label) in majors) ticks.AddMajor(position, label);
        foreach (double position in minors) ticks.AddMinor(position);
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.SetLimitsY(lo, hi);
    }

    /// <summary>The axis range in log10 units (the data's, padded) and its labelled and unlabelled tick positions.</summary>
    public static (double Lo, double Hi, List<(double Position, string Label)> Majors, List<double> Minors) Layout(double min, double max)
    {
        double lo = Math.Log10(min), hi = Math.Log10(max);
        double pad = hi > lo ? 0.05 * (hi - lo) : 0.05;
        lo -= pad;
        hi += pad;

        int level = 0;
        while (level < Mantissas.Length - 1 && Positions(lo, hi, Mantissas[level]).Count() < 4) level++;
        var majors = Positions(lo, hi, Mantissas[level]).ToList();
        var minors = level + 1 < Mantissas.Length ? Positions(lo, hi, Mantissas[level + 1]).Except(majors).ToList() : [];
        return (lo, hi, majors.Select(p => (p, Math.Pow(10, p).ToString("G3", CultureInfo.InvariantCulture))).ToList(), minors);
    }

    /// <summary>log10 of mantissa * 10^k for every such value inside [10^lo, 10^hi].</summary>
    private static IEnumerable<double> Positions(double lo, double hi, double[] mantissas)
    {
        for (int k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
            foreach (double m in mantissas)
            {
                // Rounded so that the same value reached through two mantissa sets compares equal.
                double p = Math.Round(Math.Log10(m) + k, 12);
                if (p >= lo && p <= hi) yield return p;
            }
    }
}
