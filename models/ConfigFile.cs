using System.Text.Json;
using HardFocus.Engine.IO;

namespace HardFocus.Models;

/// <summary>
/// One config.json, parsed and read field by field: every problem is one <see cref="InvalidDataException"/> line naming
/// the file and the field. Required fields have no fallback; optional ones fall back to what Hugging Face's own config
/// class uses when the key is absent, so a file means here what it means there.
/// </summary>
public sealed class ConfigFile
{
    private readonly JsonElement _root;

    private ConfigFile(string path, JsonElement root)
    {
        Path = path;
        _root = root;
    }

    public string Path { get; }

    public static ConfigFile Read(string path)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw Bad(path, $"not valid JSON ({e.Message.Split(" LineNumber:")[0].TrimEnd('.', ' ')})."); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(path, $"holds a JSON {root.ValueKind}, not an object.");
            if (!JsonText.IsText(root)) throw Bad(path, JsonText.Problem);
            return new ConfigFile(path, root.Clone());
        }
    }

    public InvalidDataException Error(string problem) => Bad(Path, problem);

    private static InvalidDataException Bad(string path, string problem) => new($"Model config {path}: {problem}");

    /// <summary>Present and not null.</summary>
    public bool Has(string name) => _root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    public int Integer(string name) =>
        Has(name) ? IntegerValue(name) : throw Error($"{name} is missing.");

    public int Integer(string name, int fallback) => Has(name) ? IntegerValue(name) : fallback;

    private int IntegerValue(string name)
    {
        var value = _root.GetProperty(name);
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) ? n
            : throw Error($"{name} must be an integer, got {Shorten(value.GetRawText())}.");
    }

    /// <summary>The first element of an array of integers.</summary>
    public int FirstInteger(string name)
    {
        var value = _root.GetProperty(name);
        return value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0 && value[0].ValueKind == JsonValueKind.Number
            && value[0].TryGetInt32(out int n) ? n
            : throw Error($"{name} must be an integer or a list of integers, got {Shorten(value.GetRawText())}.");
    }

    public float Real(string name, float fallback)
    {
        if (!Has(name)) return fallback;
        var value = _root.GetProperty(name);
        return value.ValueKind == JsonValueKind.Number && value.TryGetSingle(out float x) && float.IsFinite(x) ? x
            : throw Error($"{name} must be a number, got {Shorten(value.GetRawText())}.");
    }

    public bool Boolean(string name, bool fallback)
    {
        if (!Has(name)) return fallback;
        var value = _root.GetProperty(name);
        return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean()
            : throw Error($"{name} must be true or false, got {Shorten(value.GetRawText())}.");
    }

    public string? Text(string name)
    {
        if (!Has(name)) return null;
        var value = _root.GetProperty(name);
        return value.ValueKind == JsonValueKind.String ? value.GetString()
            : throw Error($"{name} must be a string, got {Shorten(value.GetRawText())}.");
    }

    /// <summary>The field as the file spells it, for messages about values that are refused.</summary>
    public string Raw(string name) => _root.TryGetProperty(name, out var value) ? Shorten(value.GetRawText()) : "absent";

    /// <summary>A value as the file spells it, on one line and cut to a readable length.</summary>
    private static string Shorten(string raw)
    {
        raw = raw.ReplaceLineEndings(" ");
        return raw.Length <= 40 ? raw : raw[..40] + "...";
    }
}
