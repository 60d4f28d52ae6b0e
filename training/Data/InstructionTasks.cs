using System.Text;
using System.Text.Json.Nodes;
using HardFocus.Engine;

namespace HardFocus.Training.Data;

/// <summary>
/// One generated instruction example. <see cref="Output"/> is what the model is trained on; <see cref="Answer"/> is the
/// correct response, which differs from it exactly when the example's answer was corrupted (label noise).
/// </summary>
public sealed record InstructionExample(string Task, string Instruction, string Input, string Output, string Answer)
{
    public bool Corrupted => Output != Answer;
}

/// <summary>
/// Small string and arithmetic tasks with one correct answer each, for studying instruction tuning where the right
/// response can be checked exactly: reverse or sort a word, upper-case it, count a letter in it, add two numbers.
/// Inputs are short so that, with byte tokens and the compact prompt, an example fits in 32 tokens.
/// </summary>
public static class InstructionTasks
{
    public static readonly string[] Names = ["reverse", "sort", "upper", "count", "add"];

    private const string Letters = "abcdefghij";

    /// <summary>
    /// <paramref name="count"/> distinct examples, the tasks in turn. Exactly round(noise * count) of them, chosen by a
    /// seeded shuffle, have their answer replaced by a wrong answer of the same kind (a different word of the same
    /// length, a different number). Keys in <paramref name="exclude"/> (see <see cref="Key"/>) are never generated, which
    /// keeps a test set apart from the training set.
    /// </summary>
    public static IReadOnlyList<InstructionExample> Generate(int count, double noise, ulong seed, IReadOnlySet<string>? exclude = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (!(noise is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(noise), noise, "The noise rate must lie in [0, 1].");
        var rng = new Rng(Rng.Mix(seed) ^ 0x1A57);
        var seen = new HashSet<string>(exclude ?? new HashSet<string>());
        var clean = new List<InstructionExample>(count);
        int attempts = 0;
        while (clean.Count < count)
        {
            if (++attempts > 100 * count) throw new InvalidOperationException($"Could not draw {count} distinct task examples.");
            var example = Draw(Names[clean.Count % Names.Length], rng);
            if (seen.Add(Key(example))) clean.Add(example);
        }

        // Corrupt an exact share, so the noise rate is what was asked for rather than a random draw near it.
        int corrupted = (int)Math.Round(noise * count, MidpointRounding.AwayFromZero);
        var order = Enumerable.Range(0, count).ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var result = clean.ToArray();
        foreach (int i in order.Take(corrupted)) result[i] = result[i] with { Output = WrongAnswer(result[i], rng) };
        return result;
    }

    /// <summary>What makes two examples the same question.</summary>
    public static string Key(InstructionExample e) => e.Instruction + "\n" + e.Input;

    /// <summary>JSON lines in the `--instruct` format (instruction, input, output), plus the task and the correct answer.</summary>
    public static void Write(string path, IEnumerable<InstructionExample> examples)
    {
        var text = new StringBuilder();
        foreach (var e in examples)
            text.Append(new JsonObject
            {
                ["instruction"] = e.Instruction, ["input"] = e.Input, ["output"] = e.Output, ["task"] = e.Task, ["answer"] = e.Answer,
            }.ToJsonString()).Append('\n');
        RunFolder.WriteAtomically(path, text.ToString());
    }

    private static InstructionExample Draw(string task, Rng rng)
    {
        switch (task)
        {
            case "reverse":
            {
                string word = Word(rng, 3, 6);
                return new(task, "reverse", word, Reverse(word), Reverse(word));
            }
            case "sort":
            {
                string word = Word(rng, 3, 6);
                string sorted = new(word.Order().ToArray());
                return new(task, "sort", word, sorted, sorted);
            }
            case "upper":
            {
                string word = Word(rng, 3, 6);
                return new(task, "upper", word, word.ToUpperInvariant(), word.ToUpperInvariant());
            }
            case "count":
            {
                // Five letters only, so the counted letter appears often enough for the answer to vary.
                string word = Word(rng, 3, 7, alphabet: 5);
                char letter = Letters[rng.NextInt(5)];
                string answer = word.Count(c => c == letter).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return new(task, $"count {letter}", word, answer, answer);
            }
            case "add":
            {
                int a = rng.NextInt(100), b = rng.NextInt(100);
                string answer = (a + b).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return new(task, "add", $"{a}+{b}", answer, answer);
            }
            default:
                throw new ArgumentException($"Unknown task '{task}'.", nameof(task));
        }
    }

    /// <summary>A wrong answer that looks like a right one: same kind, same length for words, never the answer itself.</summary>
    private static string WrongAnswer(InstructionExample e, Rng rng)
    {
        while (true)
        {
            string wrong = e.Task switch
            {
                "add" => rng.NextInt(199).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "count" => rng.NextInt(e.Input.Length + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "upper" => Word(rng, e.Answer.Length, e.Answer.Length).ToUpperInvariant(),
                _ => Word(rng, e.Answer.Length, e.Answer.Length),
            };
            if (wrong != e.Answer) return wrong;
        }
    }

    private static string Word(Rng rng, int minLength, int maxLength, int alphabet = 10)
    {
        var chars = new char[minLength + rng.NextInt(maxLength - minLength + 1)];
        for (int i = 0; i < chars.Length; i++) chars[i] = Letters[rng.NextInt(alphabet)];
        return new string(chars);
    }

    private static string Reverse(string s)
    {
        var chars = s.ToCharArray();
        Array.Reverse(chars);
        return new string(chars);
    }
}
