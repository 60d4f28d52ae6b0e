namespace HardFocus.Training.Reweighting;

/// <summary>
/// Maps a pool's detached per-sample losses to weights that sum to 1 (zero for dropped samples). The step's objective
/// is sum_i w_i l_i and the weights are constants in backward.
/// </summary>
public interface IReweighter
{
    double[] Weights(ReadOnlySpan<float> losses);
}

/// <summary>Empirical risk minimisation: every sample counts the same.</summary>
public sealed class Erm : IReweighter
{
    public double[] Weights(ReadOnlySpan<float> losses)
    {
        if (losses.IsEmpty) throw new ArgumentException("Cannot weight an empty pool.");
        var w = new double[losses.Length];
        Array.Fill(w, 1.0 / losses.Length);
        return w;
    }
}
