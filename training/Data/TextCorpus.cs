using System.IO.Compression;
using System.Text;

namespace HardFocus.Training.Data;

/// <summary>Plain-text documents for language modeling, from a file, a folder of files, or a JSON-lines dump.</summary>
public static class TextCorpus
{
    private static readonly Lazy<string> EmbeddedMobyDick = new(() =>
    {
        const string resource = "HardFocus.Training.moby-dick.txt.gz";
        using var stream = typeof(TextCorpus).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The assembly lacks the embedded resource {resource}.");
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress), Encoding.UTF8);
        return reader.ReadToEnd();
    });

    /// <summary>
    /// The documents under <paramref name="path"/>: one per non-blank line of a .jsonl file (its "text" field), one per
    /// *.txt file directly in a folder (ordinal name order, so every machine sees the same stream), else the whole file.
    /// Empty documents are left out: they would only add separators.
    /// </summary>
    public static IReadOnlyList<string> LoadDocuments(string path)
    {
        IEnumerable<string> documents;
        if (Directory.Exists(path))
        {
            var options = new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive };
            documents = Directory.EnumerateFiles(path, "*.txt", options)
                .OrderBy(file => Path.GetFileName(file), StringComparer.Ordinal)
                .Select(File.ReadAllText);
        }
        else if (!File.Exists(path))
            throw new FileNotFoundException($"No corpus file or folder at '{path}'.", path);
        else if (Path.GetExtension(path).Equals(".jsonl", StringComparison.OrdinalIgnoreCase))
            documents = JsonLine.Read(path).Select(line => line.RequiredString("text"));
        else
            documents = [File.ReadAllText(path)];

        var list = documents.Where(d => d.Length > 0).ToList();
        if (list.Count == 0) throw new InvalidDataException($"The corpus at '{path}' holds no documents.");
        return list;
    }

    /// <summary>Moby-Dick, embedded so a first run needs no download.</summary>
    public static string MobyDick() => EmbeddedMobyDick.Value;
}
