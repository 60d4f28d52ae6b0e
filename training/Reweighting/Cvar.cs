namespace HardFocus.Training.Reweighting;

/// <summary>
/// Conditional value at risk: the exact maximiser of sum w_i l_i over the simplex with every w_i at most 1/(alpha n),
/// i.e. the mean loss of the hardest alpha share of the pool. Greedy is optimal for a capped linear objective: fill
/// the highest losses at the cap, k = floor(alpha n) of them, and give the next one what is left, 1 - k/(alpha n).
/// Unlike MidRanking portion 0, a fractional alpha n counts the boundary sample partly instead of rounding it away;
/// alpha n below 1 leaves the cap above 1, so the hardest sample takes everything.
/// </summary>
public sealed class Cvar : IReweighter
{
    public Cvar(double alpha)
    {
        if (!(alpha > 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be in (0, 1], got {alpha}.");
        Alpha = alpha;
    }

    public double Alpha { get; }

    public double[] Weights(ReadOnlySpan<float> losses)
    {
        PoolLosses.RequireFinite(losses, "CVaR");
        int n = losses.Length;
        double tail = PoolLosses.Share(Alpha, n);   // alpha n, the (possibly fractional) number of samples in the tail
        int full = (int)Math.Floor(tail);
        var order = PoolLosses.DescendingOrder(losses);
        var w = new double[n];
        for (int rank = 0; rank < full; rank++) w[order[rank]] = 1.0 / tail;
        double rest = 1.0 - full / tail;
        if (full < n && rest > 0) w[order[full]] = rest;
        return w;
    }
}
