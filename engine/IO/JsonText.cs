using System.Text.Json;

namespace HardFocus.Engine.IO;

/// <summary>
/// Valid UTF-8 JSON can still spell something that is not text: a \u escape of an unpaired UTF-16 surrogate
/// ("\ud800"). JsonDocument accepts it and throws only when that name or string is read, from wherever it is read, as
/// an InvalidOperationException that names no file. Loaders check a document once, up front, instead.
/// </summary>
public static class JsonText
{
    /// <summary>The message loaders use for such a document.</summary>
    public const string Problem = "a name or string holds an unpaired surrogate escape (such as \\ud800), which is not text.";

    /// <summary>True when every property name and string value in <paramref name="element"/> reads as text.</summary>
    public static bool IsText(JsonElement element)
    {
        try
        {
            Read(element);
            return true;
        }
        catch (InvalidOperationException) { return false; }
    }

    private static void Read(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    Read(property.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) Read(item);
                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }
}
