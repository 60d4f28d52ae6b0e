namespace HardFocus.Training.Eval;

/// <summary>
/// One multiple-choice question: the model reads <see cref="Context"/> and each choice is scored as its continuation.
/// As in lm-evaluation-harness, a choice carries its own leading space (" whale"), since context and choice are
/// tokenised separately and BPE tokens usually start with the space.
/// </summary>
public sealed record ChoiceItem(string Context, IReadOnlyList<string> Choices, int Label)
{
    /// <summary>Why the item cannot be scored, or null when it can.</summary>
    public string? Problem()
    {
        if (Choices.Count < 2) return $"needs at least 2 choices, has {Choices.Count}.";
        if (Label < 0 || Label >= Choices.Count) return $"label {Label} is out of range for {Choices.Count} choices.";
        for (int i = 0; i < Choices.Count; i++)
            // acc_norm divides by the choice's length, so an empty choice has no score.
            if (string.IsNullOrEmpty(Choices[i])) return $"choice {i} is empty.";
        return null;
    }
}
