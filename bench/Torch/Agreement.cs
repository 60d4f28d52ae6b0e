namespace HardFocus.Bench.Torch;

/// <summary>How far HardFocus's numbers are from TorchSharp's.</summary>
internal static class Agreement
{
    /// <summary>Largest |ours - theirs| relative to the reference tensor's largest magnitude: the measure for tensors
    /// with entries near zero (logits, gradients, weights), where an element-wise ratio would be noise.</summary>
    public static double RelativeToLargest(ReadOnlySpan<float> ours, ReadOnlySpan<float> theirs)
    {
        Check(ours.Length, theirs.Length);
        double diff = 0, largest = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs((double)ours[i] - theirs[i]));
            largest = Math.Max(largest, Math.Abs((double)theirs[i]));
        }
        return largest == 0 ? diff : diff / largest;
    }

    /// <summary>Largest element-wise |ours - theirs| / |theirs|: for losses, which are all well away from zero.</summary>
    public static double ElementWise(ReadOnlySpan<float> ours, ReadOnlySpan<float> theirs)
    {
        Check(ours.Length, theirs.Length);
        double worst = 0;
        for (int i = 0; i < ours.Length; i++)
            worst = Math.Max(worst, Math.Abs((double)ours[i] - theirs[i]) / Math.Max(Math.Abs((double)theirs[i]), 1e-12));
        return worst;
    }

    private static void Check(int ours, int theirs)
    {
        if (ours != theirs) throw new InvalidOperationException($"The sides disagree on size: {ours} against {theirs} values.");
    }
}
