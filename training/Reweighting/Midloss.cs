namespace HardFocus.Training.Reweighting;

/// <summary>
/// The "mid" strategy of Sow et al., "Dynamic Loss-Based Sample Reweighting for Improved Large Language Model
/// Pretraining" (ICLR 2025), as their public trainer computes it: map the pool's losses onto [-1, 1] by min-max,
/// u = (2 l - l_max - l_min) / max(l_max - l_min, 1e-6); score each sample by 1 - u^2, which peaks at the middle of
/// the range and is zero at both ends (the easiest samples teach little, the hardest are often noise); weights are
/// softmax(score / lambda). The 1e-6 floor keeps a pool of (nearly) equal losses at u = 0, i.e. uniform weights.
/// </summary>
public sealed class Midloss : IReweighter
{
    /// <summary>The smallest loss range the normalisation divides by, as in the reference code.</summary>
    private const double MinRange = 1e-6;

    public Midloss(double lambda)
    {
        if (!(lambda > 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), $"lambda must be a positive finite number, got {lambda}.");
        Lambda = lambda;
    }

    public double Lambda { get; }

    public double[] Weights(ReadOnlySpan<float> losses)
    {
        PoolLosses.RequireFinite(losses, "Mid-loss");
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (float l in losses)
        {
            min = Math.Min(min, l);
            max = Math.Max(max, l);
        }
        double range = Math.Max(max - min, MinRange);
        var scores = new double[losses.Length];
        for (int i = 0; i < scores.Length; i++)
        {
            double u = (2.0 * losses[i] - max - min) / range;
            scores[i] = 1 - u * u;
        }
        return PoolLosses.Softmax(scores, Lambda);
    }
}
