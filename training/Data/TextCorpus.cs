using System.IO.Compression;
using System.Text;

namespace HardFocus.Training.Data;

/// <summary>
/// Plain-text documents for language modeling, from a file, a folder of files, a JSON-lines dump, or one of the
/// corpora embedded in the assembly.
/// </summary>
public static class TextCorpus
{
    /// <summary>Names a corpus embedded in the assembly where a path is expected: <c>builtin:sotu</c>.</summary>
    public const string BuiltinPrefix = "builtin:";

    /// <summary>Separates the documents of an embedded corpus: a line holding only a form feed (U+000C).</summary>
    private const char DocumentSeparator = '\f';

    private static readonly Lazy<string> EmbeddedMobyDick = new(() => ReadResource("moby-dick"));

    private static readonly Lazy<IReadOnlyList<string>> MobyDickDocuments = new(() => Array.AsReadOnly([EmbeddedMobyDick.Value]));
    private static readonly Lazy<IReadOnlyList<string>> Sotu = new(() => SplitDocuments(ReadResource("sotu")));
    private static readonly Lazy<IReadOnlyList<string>> Fortunes = new(() => SplitDocuments(ReadResource("fortunes")));

    /// <summary>
    /// The corpora embedded in the assembly (training/Data/Embedded/README.md says where each comes from):
    /// "moby-dick", the novel as one document; "sotu", 110 State of the Union addresses (1913-2021), one document
    /// each; "fortunes", some 12,700 fortune-cookie quips and jokes, one document each.
    /// </summary>
    public static IReadOnlyList<string> EmbeddedNames { get; } = Array.AsReadOnly(["moby-dick", "sotu", "fortunes"]);

    /// <summary>The documents of the embedded corpus <paramref name="name"/>, read once and shared.</summary>
    /// <exception cref="ArgumentException">No embedded corpus has that name; the message lists those that exist.</exception>
    public static IReadOnlyList<string> Embedded(string name) => name switch
    {
        "moby-dick" => MobyDickDocuments.Value,
        "sotu" => Sotu.Value,
        "fortunes" => Fortunes.Value,
        _ => throw new ArgumentException($"No embedded corpus is called '{name}'; there are: {string.Join(", ", EmbeddedNames)}."),
    };

    /// <summary>
    /// The documents under <paramref name="path"/>: one per non-blank line of a .jsonl file (its "text" field), one per
    /// *.txt file directly in a folder (ordinal name order, so every machine sees the same stream), else the whole file.
    /// <c>builtin:NAME</c> names an embedded corpus instead (see <see cref="EmbeddedNames"/>).
    /// Empty documents are left out: they would only add separators. Files must be UTF-8 unless
    /// <paramref name="errors"/> says to replace bad bytes.
    /// </summary>
    public static IReadOnlyList<string> LoadDocuments(string path, EncodingErrors errors = EncodingErrors.Strict)
    {
        if (path.StartsWith(BuiltinPrefix, StringComparison.Ordinal)) return Embedded(path[BuiltinPrefix.Length..]);

        IEnumerable<string> documents;
        if (Directory.Exists(path))
        {
            var options = new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive };
            documents = Directory.EnumerateFiles(path, "*.txt", options)
                .OrderBy(file => Path.GetFileName(file), StringComparer.Ordinal)
                .Select(file => Utf8Text.ReadAll(file, errors));
        }
        else if (!File.Exists(path))
            throw new FileNotFoundException($"No corpus file or folder at '{path}'.", path);
        else if (Path.GetExtension(path).Equals(".jsonl", StringComparison.OrdinalIgnoreCase))
            documents = JsonLine.Read(path, errors).Select(line => line.RequiredString("text"));
        else
            documents = [Utf8Text.ReadAll(path, errors)];

        var list = documents.Where(d => d.Length > 0).ToList();
        if (list.Count == 0) throw new InvalidDataException($"The corpus at '{path}' holds no documents.");
        return list;
    }

    /// <summary>Moby-Dick, embedded so a first run needs no download.</summary>
    public static string MobyDick() => EmbeddedMobyDick.Value;

    private static string ReadResource(string name)
    {
        string resource = $"HardFocus.Training.{name}.txt.gz";
        using var stream = typeof(TextCorpus).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The assembly lacks the embedded resource {resource}.");
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress), Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Documents separated by form-feed lines; the newlines around each separator belong to neither side.</summary>
    internal static IReadOnlyList<string> SplitDocuments(string text) =>
        Array.AsReadOnly(text.Split(DocumentSeparator).Select(d => d.Trim('\n')).Where(d => d.Length > 0).ToArray());
}
