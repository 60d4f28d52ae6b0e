using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using HardFocus.Training.Data;

namespace HardFocus.Training.Eval;

/// <summary>
/// Multiple-choice items as JSON lines, one {"context": "...", "choices": ["...", ...], "label": i} per line, so a set
/// built here can be scored by any other model or tool.
/// </summary>
public static class ChoiceFile
{
    // Readable text rather than \uXXXX escapes; the file is data, never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Every non-blank line as an item; a malformed line raises an error naming the file and line.</summary>
    public static IReadOnlyList<ChoiceItem> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No multiple-choice file at '{path}'.", path);
        var items = new List<ChoiceItem>();
        foreach (var line in JsonLine.Read(path, EncodingErrors.Strict, canReplace: false))
        {
            var item = new ChoiceItem(line.RequiredString("context"), Choices(line), Label(line));
            if (item.Problem() is { } problem) throw line.Error(problem);
            items.Add(item);
        }
        if (items.Count == 0) throw new InvalidDataException($"'{path}' holds no items.");
        return items;
    }

    /// <summary>Writes to a temporary name and renames it into place, so a failed save never leaves half a file.</summary>
    public static void Save(string path, IEnumerable<ChoiceItem> items)
    {
        var full = Path.GetFullPath(path);
        // A unique hidden name beside the target, so the rename stays on one file system and two writers never share it.
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using var stream = File.Create(temporary);
            var newline = Encoding.UTF8.GetBytes("\n");
            foreach (var item in items)
            {
                if (item.Problem() is { } problem) throw new ArgumentException($"Cannot save the item with context \"{Shorten(item.Context)}\": {problem}");
                using (var writer = new Utf8JsonWriter(stream, WriterOptions))
                {
                    writer.WriteStartObject();
                    writer.WriteString("context", item.Context);
                    writer.WriteStartArray("choices");
                    foreach (var choice in item.Choices) writer.WriteStringValue(choice);
                    writer.WriteEndArray();
                    writer.WriteNumber("label", item.Label);
                    writer.WriteEndObject();
                }
                stream.Write(newline);
            }
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        File.Move(temporary, full, overwrite: true);
    }

    private static string[] Choices(JsonLine line)
    {
        if (!line.Root.TryGetProperty("choices", out var value) || value.ValueKind == JsonValueKind.Null)
            throw line.Error("missing array field \"choices\".");
        if (value.ValueKind != JsonValueKind.Array) throw line.Error($"field \"choices\" must be an array of strings, found {value.ValueKind}.");
        var choices = new List<string>();
        foreach (var choice in value.EnumerateArray())
        {
            if (choice.ValueKind != JsonValueKind.String)
                throw line.Error($"field \"choices\" must be an array of strings, element {choices.Count} is {choice.ValueKind}.");
            choices.Add(choice.GetString()!);
        }
        return [.. choices];
    }

    private static int Label(JsonLine line)
    {
        if (!line.Root.TryGetProperty("label", out var value) || value.ValueKind == JsonValueKind.Null)
            throw line.Error("missing integer field \"label\".");
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int label))
            throw line.Error($"field \"label\" must be an integer, found {value.GetRawText()}.");
        return label;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
