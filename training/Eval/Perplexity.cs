using HardFocus.Training.Data;

namespace HardFocus.Training.Eval;

public static class Perplexity
{
    /// <summary>
    /// The token-weighted mean loss and its perplexity from per-sample losses, the same number
    /// <see cref="Evaluator.Evaluate"/> gives, so one forward pass yields both the perplexity and the distribution.
    /// </summary>
    public static Evaluation FromLosses(IReadOnlyList<Sample> samples, IReadOnlyList<float> losses)
    {
        if (samples.Count != losses.Count) throw new ArgumentException($"{samples.Count} samples but {losses.Count} losses.", nameof(losses));
        double total = 0;
        long tokens = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            long count = (long)samples[i].Mask.Sum();
            total += (double)losses[i] * count;
            tokens += count;
        }
        double loss = tokens == 0 ? double.NaN : total / tokens;
        return new Evaluation(loss, Math.Exp(loss), tokens);
    }
}
