using System.Text.Json;
using HardFocus.Engine.IO;
using HardFocus.Training.Data;
using HardFocus.Training.Text;

namespace HardFocus.Training;

/// <summary>
/// Reads trainer.json strictly: the file may have been edited by hand, and a field that is missing, misspelt, of the
/// wrong type or out of range would otherwise resume a different run than the one asked for, or crash deep inside it.
/// Every problem is one line naming the file and the field.
/// </summary>
internal static class TrainerStateFile
{
    public static TrainerState Read(string path, JsonSerializerOptions json)
    {
        string text = Utf8Text.ReadAll(path, EncodingErrors.Strict, canReplace: false);
        TrainerState? state;
        bool hasEncodingErrors;
        try
        {
            using var document = JsonDocument.Parse(text);
            if (!JsonText.IsText(document.RootElement)) throw new InvalidDataException($"{path}: {JsonText.Problem}");
            state = document.Deserialize<TrainerState>(json) ?? throw new InvalidDataException($"{path}: holds null, not a trainer state.");
            // Deserialize has checked that the root is an object holding an Options object.
            hasEncodingErrors = document.RootElement.GetProperty(nameof(TrainerState.Options)).TryGetProperty(nameof(TrainOptions.EncodingErrors), out _);
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: {Describe(e)}"); }

        // Runs saved before --encoding-errors existed read their data with replacement; resuming them must read the same.
        if (!hasEncodingErrors) state = state with { Options = state.Options with { EncodingErrors = EncodingErrors.Replace } };
        state.Options.ValidateStored(path);
        string? problem =
            state.Step < 0 ? $"Step must not be negative, got {state.Step}."
            : state.Step > state.Options.Steps ? $"Step {state.Step} is past the run's total of Options.Steps {state.Options.Steps}."
            : state.Loader.Epoch < 0 ? $"Loader.Epoch must not be negative, got {state.Loader.Epoch}."
            : state.Loader.Position < 0 ? $"Loader.Position must not be negative, got {state.Loader.Position}."
            : state.Ranks is < 1 ? $"Ranks must be at least 1, got {state.Ranks}."
            : !TokenizerFactory.IsKnown(state.Options.Tokenizer) ? $"Options.Tokenizer must be one of {string.Join(", ", TokenizerFactory.Names)} or a tokenizer folder, got '{state.Options.Tokenizer}'."
            : null;
        if (problem != null) throw new InvalidDataException($"{path}: {problem}");
        return state;
    }

    /// <summary>System.Text.Json's message as one line about the field: its own messages name .NET types and members
    /// and end in a position, which is noise to someone editing the file.</summary>
    private static string Describe(JsonException e)
    {
        string field = e.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : "";
        string line = e.LineNumber is long n ? $" (line {n + 1})" : "";
        string message = e.Message;
        int cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];

        string? Quoted(string after)
        {
            int at = message.IndexOf(after, StringComparison.Ordinal);
            if (at < 0) return null;
            int end = message.IndexOf('\'', at + after.Length);
            return end < 0 ? null : message[(at + after.Length)..end];
        }
        string In(string name) => field.Length == 0 ? name : $"{field}.{name}";

        if (Quoted("missing required properties including: '") is { } missing) return $"{In(missing)} is missing.";
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
            return $"{field} is not a field of trainer.json{line}.";
        if (message.Contains("doesn't allow getting null values", StringComparison.Ordinal)
            || message.Contains("doesn't allow setting null values", StringComparison.Ordinal)) return $"{field} must not be null{line}.";
        const string convert = "The JSON value could not be converted to ";
        if (message.StartsWith(convert, StringComparison.Ordinal))
            return $"{(field.Length > 0 ? field : "the file")} must be {Expected(message[convert.Length..].TrimEnd('.'))}{line}.";
        return field.Length > 0 ? $"{field}: {message}{line}" : $"{message}{line}";
    }

    /// <summary>What a value of the .NET type named <paramref name="typeName"/> looks like in the file.</summary>
    private static string Expected(string typeName) => typeName switch
    {
        "System.Int32" => "an integer (32-bit)",
        "System.UInt64" => "a non-negative integer",
        "System.Single" or "System.Double" => "a number",
        "System.String" => "a string",
        "System.Double[]" => "an array of numbers",
        _ when typeof(TrainerState).Assembly.GetType(typeName) is { IsEnum: true } type =>
            "one of " + string.Join(", ", Enum.GetNames(type).Select(OptionNames.Policy.ConvertName)),
        _ when typeof(TrainerState).Assembly.GetType(typeName) is { } type => $"a JSON object ({type.Name})",
        _ => typeName,
    };
}
