using System.Text;
using HardFocus.Engine;

namespace HardFocus.Training.Eval;

/// <summary>
/// Multiple-choice cloze items cut from any text, so a model can be tested on text it never trained on without a
/// labelled benchmark: which of these continuations really follows the passage?
/// </summary>
public static class ClozeTask
{
    /// <summary>
    /// <paramref name="count"/> items, each a context of about <paramref name="contextChars"/> characters (it starts at
    /// the first word start at or after that many characters before the cut) and <paramref name="choices"/>
    /// continuations. Every continuation starts at the whitespace after a word and runs to the end of the first word
    /// that reaches <paramref name="continuationChars"/> characters, so choices carry their leading space as BPE
    /// tokens expect. The true continuation is the text after the context; the distractors are continuations cut by
    /// the same rule elsewhere in the text, outside the item's own passage. No distractor equals the true continuation
    /// or another distractor, even up to whitespace. Passages are drawn at random without repeats, and the true
    /// continuation's position is random; both follow <paramref name="seed"/> alone.
    /// </summary>
    public static IReadOnlyList<ChoiceItem> Generate(string text, int count, int contextChars, int continuationChars, int choices, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextChars);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(continuationChars);
        if (choices < 2) throw new ArgumentOutOfRangeException(nameof(choices), choices, "A cloze item needs at least 2 choices.");

        var wordStarts = new List<int>();
        var wordEnds = new List<int>();
        for (int i = 0; i <= text.Length; i++)
        {
            bool word = i < text.Length && !char.IsWhiteSpace(text[i]);
            bool previousWord = i > 0 && !char.IsWhiteSpace(text[i - 1]);
            if (word && !previousWord) wordStarts.Add(i);
            if (!word && previousWord) wordEnds.Add(i);
        }
        // Every place a continuation can start (a word end followed by whitespace) with where it ends.
        var cuts = new List<(int At, int End)>();
        foreach (int at in wordEnds)
        {
            if (at == text.Length) continue;
            int end = FirstAtOrAfter(wordEnds, at + continuationChars);
            if (end >= 0) cuts.Add((at, end));
        }

        var rng = new Rng(seed);
        var order = Enumerable.Range(0, cuts.Count).ToArray();
        var items = new List<ChoiceItem>(count);
        for (int k = 0; k < order.Length && items.Count < count; k++)
        {
            // Fisher-Yates, one step at a time: passages in a seeded random order, none twice.
            int pick = k + rng.NextInt(order.Length - k);
            (order[k], order[pick]) = (order[pick], order[k]);
            var (at, end) = cuts[order[k]];
            if (at < contextChars) continue;
            int start = FirstAtOrAfter(wordStarts, at - contextChars);
            if (start < 0 || start >= at) continue; // a single word longer than the context: no passage here
            string truth = text[at..end];
            var offered = Distractors(text, cuts, start, end, truth, choices - 1, rng);
            if (offered == null) continue;
            int label = rng.NextInt(choices);
            offered.Insert(label, truth);
            items.Add(new ChoiceItem(text[start..at], offered, label));
        }
        if (items.Count < count)
            throw new InvalidDataException($"The text ({text.Length} characters) yields only {items.Count} of the {count} cloze items asked for, " +
                $"with contexts of {contextChars} and continuations of {continuationChars} characters and {choices - 1} distinct distractors each; use more text or fewer items.");
        return items;
    }

    /// <summary>Distinct continuations from outside [passageStart, passageEnd), none equal to the truth; null when the
    /// text is too repetitive to supply them within a bounded number of draws.</summary>
    private static List<string>? Distractors(string text, List<(int At, int End)> cuts, int passageStart, int passageEnd, string truth, int needed, Rng rng)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { Normalize(truth) };
        var chosen = new List<string>(needed + 1);
        for (int draw = 0; draw < 32 * needed && chosen.Count < needed; draw++)
        {
            var (at, end) = cuts[rng.NextInt(cuts.Count)];
            if (at < passageEnd && end > passageStart) continue;
            string candidate = text[at..end];
            if (seen.Add(Normalize(candidate))) chosen.Add(candidate);
        }
        return chosen.Count == needed ? chosen : null;
    }

    /// <summary>Whitespace runs as one space, trimmed: "\nthe whale" and " the whale" are the same answer to a reader.</summary>
    private static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (builder.Length > 0) builder.Append(' ');
            builder.Append(word);
        }
        return builder.ToString();
    }

    /// <summary>The first value in the ascending list that is at least <paramref name="position"/>, or -1.</summary>
    private static int FirstAtOrAfter(List<int> ascending, int position)
    {
        int index = ascending.BinarySearch(position);
        if (index < 0) index = ~index;
        return index < ascending.Count ? ascending[index] : -1;
    }
}
