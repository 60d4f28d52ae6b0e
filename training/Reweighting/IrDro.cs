namespace HardFocus.Training.Reweighting;

/// <summary>
/// Instance-reweighted DRO with a KL penalty towards uniform: max over the simplex of sum w_i l_i - lambda KL(w || u)
/// is solved in closed form by w = softmax(l / lambda), computed shifted by the largest loss so exp never overflows.
/// lambda -> infinity recovers ERM, lambda -> 0 puts all weight on the hardest sample.
/// </summary>
public sealed class IrDro : IReweighter
{
    public IrDro(double lambda)
    {
        if (!(lambda > 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), $"lambda must be a positive finite number, got {lambda}.");
        Lambda = lambda;
    }

    public double Lambda { get; }

    public double[] Weights(ReadOnlySpan<float> losses)
    {
        PoolLosses.RequireFinite(losses, "IR-DRO");
        return PoolLosses.Softmax(PoolLosses.ToDouble(losses), Lambda);
    }
}
