namespace HardFocus.Training.Data;

internal static class ValidationSplit
{
    /// <summary>ceil(fraction * count), so any positive fraction yields at least one validation item.</summary>
    public static int Count(int count, double fraction)
    {
        if (!(fraction >= 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The validation fraction must lie in [0, 1).");
        // Rounding first keeps products such as 0.7 * 10 = 7.000000000000001 from claiming an extra item.
        return (int)Math.Ceiling(Math.Round(fraction * count, 9));
    }
}
