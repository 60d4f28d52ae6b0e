using HardFocus.Training.Data;
using HardFocus.Training.Text;

namespace HardFocus.Training.Eval;

/// <summary>Which windows of a corpus an evaluation reads.</summary>
public enum EvalSplit
{
    /// <summary>The held-out tail, exactly as training cut it, so no scored token was trained on.</summary>
    Val,
    /// <summary>Every window of the corpus, including text a run trained on.</summary>
    All,
}

/// <summary>Builds the windows of a split and caps how many of them are scored.</summary>
public static class EvalSplits
{
    public static EvalSplit Parse(string name) => name switch
    {
        "val" => EvalSplit.Val,
        "all" => EvalSplit.All,
        _ => throw new ArgumentException($"Unknown split '{name}': use val or all."),
    };

    public static string Name(EvalSplit split) => split == EvalSplit.Val ? "val" : "all";

    /// <summary>
    /// Language-modelling windows of seqLen tokens. Val is <see cref="LanguageModelingData.Build"/>'s validation tail
    /// for <paramref name="valFraction"/> (use the run's fraction so it is the run's own held-out text); All is every
    /// window of the stream.
    /// </summary>
    public static IReadOnlyList<Sample> LanguageModeling(IReadOnlyList<string> documents, ITokenizer tokenizer, int seqLen, double valFraction, EvalSplit split) =>
        split == EvalSplit.Val
            ? LanguageModelingData.Build(documents, tokenizer, seqLen, valFraction).Validation
            // With no validation share Build keeps every window for training: that is the whole corpus.
            : LanguageModelingData.Build(documents, tokenizer, seqLen, 0).Train;

    /// <summary>Instruction examples: Val is the run's validation examples, All every usable example in file order.</summary>
    public static IReadOnlyList<Sample> Instruction(string path, ITokenizer tokenizer, int seqLen, double valFraction, PaddingSide padding,
        PromptTemplate template, EvalSplit split, EncodingErrors errors = EncodingErrors.Strict)
    {
        var set = InstructionData.Load(path, tokenizer, seqLen, valFraction, padding, template, errors);
        return split == EvalSplit.Val ? set.Validation : [.. set.Train, .. set.Validation];
    }

    /// <summary>
    /// At most <paramref name="max"/> items, evenly spaced over the whole list (item floor(i * count / max) for
    /// i = 0..max-1), so a cap still samples the beginning, middle and end of a split rather than only its start.
    /// Deterministic: the same list and cap give the same items in the same order.
    /// </summary>
    public static IReadOnlyList<T> Spread<T>(IReadOnlyList<T> items, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        if (items.Count <= max) return items;
        var chosen = new T[max];
        for (int i = 0; i < max; i++) chosen[i] = items[(int)((long)i * items.Count / max)];
        return chosen;
    }
}
