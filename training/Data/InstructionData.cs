using HardFocus.Training.Text;

namespace HardFocus.Training.Data;

/// <summary>Which end of a short example the padding goes to.</summary>
public enum PaddingSide { Left, Right }

/// <summary>
/// How instruction and input become the prompt. Alpaca is the reference's wording (about 140 characters of preamble);
/// Compact ("Q: ... A: ") leaves room for the response in a short context, as with byte tokens in a 128-token model.
/// </summary>
public enum PromptTemplate { Alpaca, Compact }

/// <summary>Instruction-tuning examples; <see cref="Skipped"/> counts those whose response did not fit at all.</summary>
public sealed record InstructionSet(IReadOnlyList<Sample> Train, IReadOnlyList<Sample> Validation, int Skipped);

/// <summary>Alpaca-style supervised fine-tuning: the model sees the prompt but is scored only on the response.</summary>
public static class InstructionData
{
    public static string Prompt(string instruction, string? input, PromptTemplate template) => (template, string.IsNullOrEmpty(input)) switch
    {
        (PromptTemplate.Alpaca, true) =>
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
            + $"### Instruction:\n{instruction}\n\n### Response:\n",
        (PromptTemplate.Alpaca, false) =>
            "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n"
            + $"### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
        (PromptTemplate.Compact, true) => $"Q: {instruction}\nA: ",
        (PromptTemplate.Compact, false) => $"Q: {instruction}\n{input}\nA: ",
        _ => throw new ArgumentOutOfRangeException(nameof(template), $"Unknown prompt template {template}."),
    };

    /// <summary>
    /// Reads a JSON-lines file of {"instruction", "input"?, "output"} records. Examples longer than seqLen + 1 tokens
    /// lose their end; the last ceil(valFraction * kept) examples are validation. The file must be UTF-8 unless
    /// <paramref name="errors"/> says to replace bad bytes.
    /// </summary>
    public static InstructionSet Load(string path, ITokenizer tokenizer, int seqLen, double valFraction, PaddingSide side, PromptTemplate template,
        EncodingErrors errors = EncodingErrors.Strict)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        if (!File.Exists(path)) throw new FileNotFoundException($"No instruction file at '{path}'.", path);

        var samples = new List<Sample>();
        int skipped = 0;
        foreach (var line in JsonLine.Read(path, errors))
        {
            var prompt = tokenizer.Encode(Prompt(line.RequiredString("instruction"), line.OptionalString("input"), template));
            var response = tokenizer.Encode(line.RequiredString("output"));
            var sample = Example(prompt, response, tokenizer.EndOfText, tokenizer.Padding, seqLen, side);
            if (sample == null) skipped++;
            else samples.Add(sample);
        }
        if (samples.Count == 0)
            throw new InvalidDataException($"'{path}' yields no usable examples ({skipped} had no room for a response within {seqLen} tokens).");

        int validation = ValidationSplit.Count(samples.Count, valFraction);
        int train = samples.Count - validation;
        if (train < 1)
            throw new InvalidDataException($"'{path}' yields {samples.Count} examples: too few to keep {validation} for validation and any for training.");
        return new InstructionSet(samples[..train], samples[train..], skipped);
    }

    /// <summary>The padded sample, or null when truncation left no response token to learn.</summary>
    private static Sample? Example(int[] prompt, int[] response, int endOfText, int padding, int seqLen, PaddingSide side)
    {
        int[] tokens = [.. prompt, .. response, endOfText];
        if (tokens.Length > seqLen + 1) tokens = tokens[..(seqLen + 1)];
        if (tokens.Length <= prompt.Length) return null;

        int real = tokens.Length - 1, pad = seqLen - real, offset = side == PaddingSide.Left ? pad : 0;
        var input = new int[seqLen];
        var target = new int[seqLen];
        var mask = new float[seqLen];
        Array.Fill(input, padding);
        Array.Fill(target, padding);
        for (int t = 0; t < real; t++)
        {
            input[offset + t] = tokens[t];
            target[offset + t] = tokens[t + 1];
            mask[offset + t] = t + 1 >= prompt.Length ? 1f : 0f;
        }
        return new Sample(input, target, mask);
    }
}
