namespace HardFocus.Training.Reweighting;

/// <summary>
/// IR-DRO after dropping the highest losses, in the spirit of DORO (Zhai et al., 2021): a DRO objective chases the
/// hardest samples, and the very hardest are often label noise or garbage text. The top m = floor(trim n) losses
/// (never the whole pool) get weight zero; the rest get softmax(l / lambda).
/// </summary>
public sealed class TrimmedIrdro : IReweighter
{
    public TrimmedIrdro(double lambda, double trim)
    {
        if (!(lambda > 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), $"lambda must be a positive finite number, got {lambda}.");
        if (!(trim >= 0 && trim < 1)) throw new ArgumentOutOfRangeException(nameof(trim), $"trim must be in [0, 1), got {trim}.");
        Lambda = lambda;
        Trim = trim;
    }

    public double Lambda { get; }
    public double Trim { get; }

    public double[] Weights(ReadOnlySpan<float> losses)
    {
        PoolLosses.RequireFinite(losses, "Trimmed IR-DRO");
        int n = losses.Length;
        int dropped = Math.Min(n - 1, (int)Math.Floor(PoolLosses.Share(Trim, n)));
        var scores = PoolLosses.ToDouble(losses);
        // Ties at the cut: the earlier sample in the pool is dropped first, as in the ranking everywhere else.
        var order = PoolLosses.DescendingOrder(losses);
        for (int rank = 0; rank < dropped; rank++) scores[order[rank]] = double.NegativeInfinity;
        return PoolLosses.Softmax(scores, Lambda);
    }
}
