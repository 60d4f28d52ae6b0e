using System.Text;
using HardFocus.Models;
using HardFocus.Training.Text;

namespace HardFocus.Training.Eval;

/// <summary>
/// Accuracy over <see cref="Count"/> items. Each standard error is that of a mean of 0/1 outcomes,
/// sqrt(p (1 - p) / (n - 1)) (lm-evaluation-harness's sample deviation over sqrt(n)); NaN when n is 1.
/// </summary>
public sealed record MultipleChoiceResult(int Count, double Acc, double AccStderr, double AccNorm, double AccNormStderr);

/// <summary>
/// Multiple-choice scoring in the manner of lm-evaluation-harness: the predicted choice is the one with the highest
/// log-likelihood given the context (acc), or the highest log-likelihood per UTF-8 byte of the choice (acc_norm,
/// which stops long choices losing merely for having more tokens to pay for). Ties go to the first choice, as numpy's
/// argmax does. The harness divides by Python's character count, which is the byte count for ASCII text.
/// </summary>
public static class MultipleChoice
{
    public static MultipleChoiceResult Score(DecoderModel model, ITokenizer tokenizer, IReadOnlyList<ChoiceItem> items, int batchSize = 16) =>
        Summarize(items, ChoiceLikelihoods.Compute(model, tokenizer, items, batchSize));

    /// <summary>acc and acc_norm from the [item][choice] log-likelihoods.</summary>
    public static MultipleChoiceResult Summarize(IReadOnlyList<ChoiceItem> items, IReadOnlyList<IReadOnlyList<double>> logLikelihoods)
    {
        if (items.Count == 0) throw new ArgumentException("There are no items to score.", nameof(items));
        if (logLikelihoods.Count != items.Count) throw new ArgumentException($"{items.Count} items but {logLikelihoods.Count} score rows.", nameof(logLikelihoods));
        int correct = 0, correctNorm = 0;
        for (int i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item.Problem() is { } problem) throw new ArgumentException($"Item {i}: {problem}", nameof(items));
            var scores = logLikelihoods[i];
            if (scores.Count != item.Choices.Count) throw new ArgumentException($"Item {i} has {item.Choices.Count} choices but {scores.Count} scores.", nameof(logLikelihoods));
            var normalised = new double[scores.Count];
            for (int c = 0; c < scores.Count; c++) normalised[c] = scores[c] / Encoding.UTF8.GetByteCount(item.Choices[c]);
            if (ArgMax(scores) == item.Label) correct++;
            if (ArgMax(normalised) == item.Label) correctNorm++;
        }
        double acc = (double)correct / items.Count, accNorm = (double)correctNorm / items.Count;
        return new MultipleChoiceResult(items.Count, acc, Stderr(acc, items.Count), accNorm, Stderr(accNorm, items.Count));
    }

    /// <summary>Standard error of a mean of n outcomes of 0 or 1 with mean p, using the n - 1 sample deviation.</summary>
    public static double Stderr(double p, int n) => n < 2 ? double.NaN : Math.Sqrt(p * (1 - p) / (n - 1));

    private static int ArgMax(IReadOnlyList<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
