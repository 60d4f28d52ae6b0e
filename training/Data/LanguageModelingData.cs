using HardFocus.Training.Text;

namespace HardFocus.Training.Data;

/// <summary>Next-token prediction over a continuous token stream, cut into fixed-length windows.</summary>
public static class LanguageModelingData
{
    /// <summary>
    /// Windows of seqLen + 1 tokens start every seqLen tokens, so each token is predicted exactly once. Validation is the
    /// tail of the stream, and the train window touching it is dropped, so no validation token is ever trained on.
    /// </summary>
    public static (IReadOnlyList<Sample> Train, IReadOnlyList<Sample> Validation) Build(
        IReadOnlyList<string> documents, ITokenizer tokenizer, int seqLen, double valFraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        var stream = new List<int>();
        foreach (var document in documents)
        {
            // The separator tells the model that text across it is unrelated, as in GPT-2's own training data.
            if (stream.Count > 0) stream.Add(tokenizer.EndOfText);
            stream.AddRange(tokenizer.Encode(document));
        }

        int windows = stream.Count == 0 ? 0 : (stream.Count - 1) / seqLen;
        if (windows < 2)
            throw new InvalidDataException($"The corpus has {stream.Count} tokens but at least {2 * seqLen + 1} are needed for two windows of {seqLen} tokens; add text or shorten the sequence length.");
        int validation = ValidationSplit.Count(windows, valFraction);
        int train = validation == 0 ? windows : windows - validation - 1;
        if (train < 1)
            throw new InvalidDataException($"The corpus has {stream.Count} tokens, {windows} windows of {seqLen}: too few to keep {validation} for validation, one as a gap and any for training.");

        var tokens = stream.ToArray();
        var trainSet = new Sample[train];
        for (int i = 0; i < train; i++) trainSet[i] = Window(tokens, i * seqLen, seqLen);
        var validationSet = new Sample[validation];
        for (int i = 0; i < validation; i++) validationSet[i] = Window(tokens, (windows - validation + i) * seqLen, seqLen);
        return (trainSet, validationSet);
    }

    private static Sample Window(int[] tokens, int start, int seqLen)
    {
        var mask = new float[seqLen];
        Array.Fill(mask, 1f);
        return new Sample(tokens[start..(start + seqLen)], tokens[(start + 1)..(start + seqLen + 1)], mask);
    }
}
