using System.Runtime.InteropServices;
using HardFocus.Training.Data;
using HardFocus.Training.Text;

namespace HardFocus.Training.Eval;

public static class HeldOutText
{
    /// <summary>Put between decoded documents, where the token stream had an end-of-text separator.</summary>
    public const string DocumentBreak = "\n\n";

    /// <summary>
    /// The text of language-modelling windows as the run saw it: the windows' tokens decoded back to text. Consecutive
    /// windows of one stream overlap by one token (a window's last target is the next window's first input) and are
    /// joined into one run of tokens, so multi-byte characters split across windows come back whole; windows that do
    /// not continue each other start a new document. End-of-text tokens become <see cref="DocumentBreak"/>.
    /// </summary>
    public static string FromWindows(IReadOnlyList<Sample> windows, ITokenizer tokenizer)
    {
        var documents = new List<string>();
        var run = new List<int>();
        for (int i = 0; i < windows.Count; i++)
        {
            if (i > 0 && windows[i].Input[0] != windows[i - 1].Target[^1])
            {
                run.Add(windows[i - 1].Target[^1]);
                Flush(run, tokenizer, documents);
            }
            run.AddRange(windows[i].Input);
        }
        if (windows.Count > 0) run.Add(windows[^1].Target[^1]);
        Flush(run, tokenizer, documents);
        return string.Join(DocumentBreak, documents);
    }

    private static void Flush(List<int> run, ITokenizer tokenizer, List<string> documents)
    {
        var tokens = CollectionsMarshal.AsSpan(run);
        int start = 0;
        for (int i = 0; i <= tokens.Length; i++)
        {
            if (i < tokens.Length && tokens[i] != tokenizer.EndOfText) continue;
            if (i > start) documents.Add(tokenizer.Decode(tokens[start..i]));
            start = i + 1;
        }
        run.Clear();
    }
}
