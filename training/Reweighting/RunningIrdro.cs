namespace HardFocus.Training.Reweighting;

/// <summary>
/// IR-DRO with a temperature that follows the loss scale: w = softmax(l / (lambda s_t)), where s_t estimates the
/// spread of a pool's losses. Plain IR-DRO's lambda is in loss units, and the spread shrinks as training goes on, so a
/// fixed lambda drifts from focused to nearly ERM; measured in spreads, one lambda means the same focus throughout.
/// s_t is an exponential moving average (beta 0.9) of each pool's standard deviation, divided by 1 - beta^t (as in
/// Adam) so the first pools are not biased towards zero. A zero estimate (no spread seen yet) gives uniform weights.
/// </summary>
public sealed class RunningIrdro : IStatefulReweighter
{
    public const double Beta = 0.9;

    private long _pools;          // t: pools seen so far
    private double _average;      // the biased moving average of the pools' standard deviations

    public RunningIrdro(double lambda)
    {
        if (!(lambda > 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), $"lambda must be a positive finite number, got {lambda}.");
        Lambda = lambda;
    }

    public double Lambda { get; }

    /// <summary>The bias-corrected spread the last call divided by (0 before any pool).</summary>
    public double Spread => _pools == 0 ? 0 : _average / (1 - Math.Pow(Beta, _pools));

    public double[] Weights(ReadOnlySpan<float> losses)
    {
        PoolLosses.RequireFinite(losses, "Running IR-DRO");
        var l = PoolLosses.ToDouble(losses);
        _pools++;
        _average = Beta * _average + (1 - Beta) * StandardDeviation(l);
        // Zero when no pool so far had any spread (or lambda times it underflows): every loss is alike, weight them alike.
        double temperature = Lambda * Spread;
        if (temperature == 0)
        {
            var uniform = new double[l.Length];
            Array.Fill(uniform, 1.0 / l.Length);
            return uniform;
        }
        return PoolLosses.Softmax(l, temperature);
    }

    /// <summary>Population standard deviation (divide by n): the spread of this pool itself, defined for one sample.</summary>
    private static double StandardDeviation(double[] l)
    {
        double mean = l.Average(), sum = 0;
        foreach (double x in l) sum += (x - mean) * (x - mean);
        return Math.Sqrt(sum / l.Length);
    }

    public double[] SaveState() => [_pools, _average];

    public void LoadState(double[] state)
    {
        if (state.Length != 2 || !(state[0] >= 0) || state[0] != Math.Floor(state[0]) || !(state[1] >= 0) || !double.IsFinite(state[1]))
            throw new InvalidDataException($"running-irdro state must be [pools seen, average spread], got [{string.Join(", ", state)}].");
        _pools = (long)state[0];
        _average = state[1];
    }
}
