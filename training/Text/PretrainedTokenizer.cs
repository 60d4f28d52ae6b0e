using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace HardFocus.Training.Text;

/// <summary>
/// A checkpoint folder's own tokenizer, read with Microsoft.ML.Tokenizers: byte-level BPE from vocab.json and merges.txt
/// (GPT-2, SmolLM and Qwen style) or a SentencePiece tokenizer.model (LLaMA and TinyLlama style). The special tokens come
/// from the folder's tokenizer_config.json, then special_tokens_map.json, then config.json's ids; the end-of-sequence token
/// separates documents and ends responses, and padding uses the pad token where there is one. No BOS token is inserted:
/// documents are packed into fixed-length windows that mostly start mid-document anyway.
/// </summary>
public sealed class PretrainedTokenizer : ITokenizer
{
    public const string VocabFile = "vocab.json", MergesFile = "merges.txt", SentencePieceFile = "tokenizer.model";

    // GPT-2's pre-tokenization: contractions, letters, digits, other symbols, each with an optional leading space.
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    // The same with every digit on its own (a Digits pre-tokenizer with individual_digits, as SmolLM's tokenizer.json has).
    private const string Gpt2SingleDigitPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Tokenizer _tokenizer;

    private PretrainedTokenizer(string folder, Tokenizer tokenizer, int vocabSize, int eos, int? pad)
    {
        Name = folder;
        _tokenizer = tokenizer;
        VocabSize = vocabSize;
        EndOfText = eos;
        PadToken = pad;
    }

    /// <summary>The folder's full path: what trainer.json records, so a resumed run reads the same files.</summary>
    public string Name { get; }
    public int VocabSize { get; }
    public int EndOfText { get; }
    public int? PadToken { get; }
    public int Padding => PadToken ?? EndOfText;

    public static bool IsTokenizerFolder(string path) =>
        Directory.Exists(path) && (File.Exists(Path.Combine(path, SentencePieceFile))
                                   || (File.Exists(Path.Combine(path, VocabFile)) && File.Exists(Path.Combine(path, MergesFile))));

    public static PretrainedTokenizer Load(string folder)
    {
        folder = Path.GetFullPath(folder);
        if (!IsTokenizerFolder(folder))
            throw new ArgumentException($"--tokenizer {folder}: the folder has neither {VocabFile} with {MergesFile} nor {SentencePieceFile}.");
        var config = ReadJson(folder, "tokenizer_config.json");
        var map = ReadJson(folder, "special_tokens_map.json");
        var modelConfig = ReadJson(folder, "config.json");
        var added = AddedTokens(config);

        Tokenizer tokenizer;
        IReadOnlyDictionary<string, int> vocabulary;
        try
        {
            if (File.Exists(Path.Combine(folder, SentencePieceFile)))
            {
                using var stream = File.OpenRead(Path.Combine(folder, SentencePieceFile));
                // No BOS inside Encode: documents and prompt/response pieces are encoded separately and joined here.
                var sentencePiece = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false,
                    specialTokens: added.Count > 0 ? added : null);
                tokenizer = sentencePiece;
                vocabulary = sentencePiece.Vocabulary;
            }
            else
            {
                var bpe = BpeTokenizer.Create(new BpeOptions(Path.Combine(folder, VocabFile), Path.Combine(folder, MergesFile))
                {
                    ByteLevel = true,
                    PreTokenizer = new RegexPreTokenizer(new Regex(PreTokenizerPattern(folder), RegexOptions.Compiled), added.Count > 0 ? added : null),
                    SpecialTokens = added.Count > 0 ? added : null,
                });
                tokenizer = bpe;
                vocabulary = bpe.Vocabulary;
            }
        }
        catch (Exception e) when (e is not ArgumentException and not InvalidDataException)
        {
            throw new InvalidDataException($"--tokenizer {folder}: the tokenizer files could not be read ({e.Message}).");
        }

        int vocabSize = Math.Max(vocabulary.Values.DefaultIfEmpty(-1).Max(), added.Values.DefaultIfEmpty(-1).Max()) + 1;
        int? Special(string name)
        {
            string? token = TokenText(config?[name + "_token"]) ?? TokenText(map?[name + "_token"]);
            if (token != null)
                return added.TryGetValue(token, out int id) || vocabulary.TryGetValue(token, out id) ? id
                    : throw new InvalidDataException($"--tokenizer {folder}: the {name} token \"{token}\" is not in the vocabulary.");
            return modelConfig?[name + "_token_id"] switch
            {
                JsonValue v when v.TryGetValue(out int id) => id,
                JsonArray { Count: > 0 } a when a[0] is JsonValue first && first.TryGetValue(out int id) => id,
                _ => null,
            };
        }
        int eos = Special("eos") ?? throw new InvalidDataException(
            $"--tokenizer {folder}: no end-of-sequence token in tokenizer_config.json, special_tokens_map.json or config.json (eos_token / eos_token_id).");
        return new PretrainedTokenizer(folder, tokenizer, vocabSize, eos, Special("pad"));
    }

    /// <summary>The tokenizer and special-token files a checkpoint folder carries, so an exported model keeps its tokenizer.</summary>
    private static readonly string[] Files =
        [VocabFile, MergesFile, SentencePieceFile, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    public static void CopyFiles(string fromFolder, string toFolder)
    {
        foreach (string name in Files)
            if (File.Exists(Path.Combine(fromFolder, name))) File.Copy(Path.Combine(fromFolder, name), Path.Combine(toFolder, name), overwrite: false);
    }

    public int[] Encode(string text) => _tokenizer.EncodeToIds(text).ToArray();

    public string Decode(ReadOnlySpan<int> ids)
    {
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), $"Token {ids[i]} at {i} is outside the vocabulary of {VocabSize}.");
        return _tokenizer.Decode(ids.ToArray()) ?? "";
    }

    /// <summary>tokenizer.json's own split pattern where it has one (Qwen2 writes its regex there), else GPT-2's, with
    /// digits split one by one when a Digits pre-tokenizer asks for it.</summary>
    private static string PreTokenizerPattern(string folder)
    {
        var json = ReadJson(folder, "tokenizer.json")?["pre_tokenizer"];
        var steps = json?["pretokenizers"] is JsonArray list ? list.ToList() : [json];
        foreach (var step in steps)
            if (step?["type"]?.GetValue<string>() == "Split" && step["pattern"]?["Regex"] is JsonValue regex && regex.TryGetValue(out string? pattern))
                return pattern;
        bool singleDigits = steps.Any(s => s?["type"]?.GetValue<string>() == "Digits" && s["individual_digits"] is JsonValue v && v.TryGetValue(out bool b) && b);
        return singleDigits ? Gpt2SingleDigitPattern : Gpt2Pattern;
    }

    /// <summary>tokenizer_config.json's added_tokens_decoder: special tokens matched whole in the text, by content.</summary>
    private static Dictionary<string, int> AddedTokens(JsonNode? config)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (config?["added_tokens_decoder"] is JsonObject decoder)
            foreach (var (id, token) in decoder)
                if (int.TryParse(id, out int n) && TokenText(token) is { } content) added[content] = n;
        return added;
    }

    /// <summary>A token given as a string or as {"content": ...}.</summary>
    private static string? TokenText(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonObject o when o["content"] is JsonValue c && c.TryGetValue(out string? s) => s,
        _ => null,
    };

    private static JsonNode? ReadJson(string folder, string name)
    {
        string path = Path.Combine(folder, name);
        if (!File.Exists(path)) return null;
        try { return JsonNode.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message.Split(" LineNumber:")[0].TrimEnd('.', ' ')})."); }
    }
}
