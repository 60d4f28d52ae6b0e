namespace HardFocus.Training.Reweighting;

/// <summary>What several reweighters do to a pool's losses the same way: check them, rank them, softmax them.</summary>
internal static class PoolLosses
{
    /// <summary>A non-finite loss means training has diverged; weighting it would only hide that.</summary>
    public static void RequireFinite(ReadOnlySpan<float> losses, string method)
    {
        if (losses.IsEmpty) throw new ArgumentException("Cannot weight an empty pool.");
        foreach (float l in losses)
            if (!float.IsFinite(l)) throw new InvalidOperationException($"{method} got a non-finite loss ({l}); training has diverged.");
    }

    /// <summary>Pool indices by descending loss; equal losses keep pool order, so every selection is deterministic.</summary>
    public static int[] DescendingOrder(ReadOnlySpan<float> losses)
    {
        var order = new int[losses.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = losses.ToArray();
        Array.Sort(order, (a, b) => keys[b].CompareTo(keys[a]) is var c && c != 0 ? c : a.CompareTo(b));
        return order;
    }

    /// <summary>
    /// fraction * n as the user means it: 0.29 * 100 is 28.999999999999996 in binary, and its floor must still be 29.
    /// Products within a relative 1e-9 of an integer are taken as that integer.
    /// </summary>
    public static double Share(double fraction, int n)
    {
        double x = fraction * n, nearest = Math.Round(x);
        return Math.Abs(x - nearest) <= 1e-9 * Math.Max(1, x) ? nearest : x;
    }

    /// <summary>
    /// softmax(score / temperature), computed as exp((score - max) / temperature) normalised so exp never overflows.
    /// A score of negative infinity gets weight exactly zero; at least one score must be finite.
    /// </summary>
    public static double[] Softmax(double[] scores, double temperature)
    {
        double max = scores.Max();
        var w = new double[scores.Length];
        double total = 0;
        for (int i = 0; i < w.Length; i++) total += w[i] = Math.Exp((scores[i] - max) / temperature);
        for (int i = 0; i < w.Length; i++) w[i] /= total;
        return w;
    }

    public static double[] ToDouble(ReadOnlySpan<float> losses)
    {
        var d = new double[losses.Length];
        for (int i = 0; i < d.Length; i++) d[i] = losses[i];
        return d;
    }
}
