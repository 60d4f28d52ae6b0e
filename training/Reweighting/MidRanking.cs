namespace HardFocus.Training.Reweighting;

/// <summary>
/// Keeps one block of the pool ranked by loss, hardest first: cap = max(1, floor(frac * n)) samples from rank
/// portion * cap. Portion 0 is the hardest block; portion 1 drops the very hardest (often noise) and keeps the
/// moderately hard ones, the paper's recommendation. Kept samples share the weight equally.
/// </summary>
public sealed class MidRanking : IReweighter
{
    public MidRanking(double fraction, int portion)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), $"frac must be in (0, 1], got {fraction}.");
        ArgumentOutOfRangeException.ThrowIfNegative(portion);
        Fraction = fraction;
        Portion = portion;
    }

    public double Fraction { get; }
    public int Portion { get; }

    public double[] Weights(ReadOnlySpan<float> losses)
    {
        int n = losses.Length;
        int cap = Math.Max(1, (int)Math.Floor(Fraction * n));
        int start = Portion * cap;
        if (start >= n)
            throw new InvalidOperationException($"MidRanking block is empty: portion {Portion} starts at rank {start} but the pool has {n} samples (frac {Fraction}, cap {cap}).");
        int end = Math.Min(n, start + cap);

        var order = PoolLosses.DescendingOrder(losses);
        // A last block cut short by the pool's end still sums to 1.
        var w = new double[n];
        for (int rank = start; rank < end; rank++) w[order[rank]] = 1.0 / (end - start);
        return w;
    }
}
