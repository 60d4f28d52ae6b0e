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
        if (!(lambda > 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), $"--lambda must be a positive finite number, got {lambda}.");
        Lambda = lambda;
    }

    public double Lambda { get; }
    public string Name => "irdro";

    public double[] Weights(ReadOnlySpan<float> losses)
    {
        if (losses.IsEmpty) throw new ArgumentException("Cannot weight an empty pool.");
        double max = double.NegativeInfinity;
        foreach (float l in losses)
        {
            if (!float.IsFinite(l)) throw new InvalidOperationException($"IR-DRO got a non-finite loss ({l}); training has diverged.");
            max = Math.Max(max, l);
        }
        var w = new double[losses.Length];
        double total = 0;
        for (int i = 0; i < w.Length; i++) total += w[i] = Math.Exp((losses[i] - max) / Lambda);
        for (int i = 0; i < w.Length; i++) w[i] /= total;
        return w;
    }
}
