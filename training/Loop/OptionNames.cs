using System.Text.Json;
using HardFocus.Training.Cli;

namespace HardFocus.Training;

/// <summary>
/// The user-facing names of option enums: kebab-case lower (TrimmedIrdro is "trimmed-irdro"). The same naming policy
/// writes them into trainer.json, so the CLI, the logs and the run folder spell every value the same way.
/// </summary>
public static class OptionNames
{
    public static readonly JsonNamingPolicy Policy = JsonNamingPolicy.KebabCaseLower;

    public static string Of<T>(T value) where T : struct, Enum => Policy.ConvertName(value.ToString());

    /// <summary>Every allowed name of <typeparamref name="T"/>, in declaration order (for --help and error lines).</summary>
    public static IReadOnlyList<string> Names<T>() where T : struct, Enum => Enum.GetValues<T>().Select(Of).ToArray();

    /// <summary>The value whose name is exactly <paramref name="text"/>; anything else is a user error naming the option.</summary>
    public static T Parse<T>(string text, string optionName) where T : struct, Enum
    {
        foreach (var value in Enum.GetValues<T>())
            if (Of(value) == text) return value;
        throw new UserError($"{optionName} must be one of {string.Join(", ", Names<T>())}, got '{text}'.");
    }
}
