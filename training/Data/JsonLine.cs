using System.Text.Json;
using HardFocus.Engine.IO;

namespace HardFocus.Training.Data;

/// <summary>One object from a JSON-lines file; every error it raises names the file and line, so bad records are easy to find.</summary>
internal readonly record struct JsonLine(string Path, int Number, JsonElement Root)
{
    /// <summary>The non-blank lines of <paramref name="path"/>, each of which must hold a JSON object; the file must be
    /// UTF-8 unless <paramref name="errors"/> says to replace bad bytes (see <see cref="Utf8Text.ReadAll"/> for
    /// <paramref name="canReplace"/>).</summary>
    public static IEnumerable<JsonLine> Read(string path, EncodingErrors errors = EncodingErrors.Strict, bool canReplace = true)
    {
        int number = 0;
        foreach (var text in Utf8Text.ReadLines(path, errors, canReplace))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(text);
                root = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw Error(path, number, $"invalid JSON: {e.Message}");
            }
            if (root.ValueKind != JsonValueKind.Object) throw Error(path, number, $"expected a JSON object, found {root.ValueKind}.");
            if (!JsonText.IsText(root)) throw Error(path, number, JsonText.Problem);
            yield return new JsonLine(path, number, root);
        }
    }

    public string? OptionalString(string field)
    {
        if (!Root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String) throw Error($"field \"{field}\" must be a string, found {value.ValueKind}.");
        return value.GetString();
    }

    public string RequiredString(string field) => OptionalString(field) ?? throw Error($"missing string field \"{field}\".");

    public InvalidDataException Error(string message) => Error(Path, Number, message);

    private static InvalidDataException Error(string path, int number, string message) => new($"{path}:{number}: {message}");
}
