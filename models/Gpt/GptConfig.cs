using System.Text.Json;
using System.Text.Json.Serialization;
using HardFocus.Engine.IO;

namespace HardFocus.Models.Gpt;

/// <summary>The shape of a GPT-2-style decoder. JSON names follow Hugging Face's GPT-2 config, so its config.json reads as is.</summary>
public sealed record GptConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 50257;
    [JsonPropertyName("n_positions")] public int ContextLength { get; init; } = 1024;
    [JsonPropertyName("n_layer")] public int Layers { get; init; } = 12;
    [JsonPropertyName("n_head")] public int Heads { get; init; } = 12;
    [JsonPropertyName("n_embd")] public int Width { get; init; } = 768;
    [JsonPropertyName("resid_pdrop")] public float Dropout { get; init; }
    [JsonPropertyName("layer_norm_epsilon")] public float LayerNormEpsilon { get; init; } = 1e-5f;

    public int HeadDim => Width / Heads;

    public static GptConfig Tiny(int vocab) => new() { VocabSize = vocab, ContextLength = 64, Layers = 2, Heads = 2, Width = 64 };
    public static GptConfig Small(int vocab) => new() { VocabSize = vocab, ContextLength = 128, Layers = 4, Heads = 4, Width = 256 };
    public static GptConfig Gpt2(int vocab = 50257) => new() { VocabSize = vocab };

    public static readonly string[] PresetNames = ["tiny", "small", "gpt2"];

    /// <summary>A preset by name, or a config.json path; the vocabulary follows the tokenizer unless the file fixes it.</summary>
    public static GptConfig Resolve(string presetOrPath, int vocab) => presetOrPath switch
    {
        "tiny" => Tiny(vocab),
        "small" => Small(vocab),
        "gpt2" => Gpt2(vocab),
        _ when File.Exists(presetOrPath) => Load(presetOrPath),
        _ => throw new ArgumentException($"Unknown model '{presetOrPath}': use tiny, small, gpt2 or a config.json path."),
    };

    // Generous bounds (GPT-2 XL is 48 layers, 25 heads, width 1600, context 1024): they are there so a corrupt or
    // mistyped config.json is refused with a line, not attempted until memory runs out.
    private const int MaxVocab = 1_000_000, MaxContext = 131_072, MaxLayers = 1024, MaxHeads = 1024, MaxWidth = 65_536;

    /// <summary>The first problem with this shape, naming fields as config.json does; null when it is valid.</summary>
    public string? Problem()
    {
        foreach (var (name, value, max) in new[] { ("vocab_size", VocabSize, MaxVocab), ("n_positions", ContextLength, MaxContext),
                     ("n_layer", Layers, MaxLayers), ("n_head", Heads, MaxHeads), ("n_embd", Width, MaxWidth) })
            if (value < 1 || value > max) return $"{name} must be from 1 to {max}, got {value}.";
        if (Width % Heads != 0) return $"n_embd {Width} is not divisible by n_head {Heads}.";
        // The largest single tensors: the token embedding, the position embedding and the MLP's 4x matrices.
        long largest = Math.Max((long)VocabSize * Width, Math.Max((long)ContextLength * Width, 4L * Width * Width));
        if (largest > Array.MaxLength) return $"the model's largest tensor would hold {largest} values, more than one array can ({Array.MaxLength}).";
        if (!(Dropout is >= 0f and < 1f)) return $"resid_pdrop must be in [0, 1), got {Dropout}.";
        if (!(LayerNormEpsilon is > 0f and <= 1f)) return $"layer_norm_epsilon must be in (0, 1], got {LayerNormEpsilon}.";
        return null;
    }

    public void Validate()
    {
        if (Problem() is { } problem) throw new ArgumentException($"Model config: {problem}");
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>
    /// Reads a config.json (ours or Hugging Face's: fields other than ours are ignored). vocab_size, n_positions, n_layer,
    /// n_head and n_embd are required integers; resid_pdrop and layer_norm_epsilon optional numbers. Every problem is one
    /// line naming the file and the field.
    /// </summary>
    public static GptConfig Load(string path)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw Bad(path, $"not valid JSON ({FirstSentence(e.Message)})."); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(path, $"holds a JSON {root.ValueKind}, not an object.");
            if (!JsonText.IsText(root)) throw Bad(path, JsonText.Problem);
            int Integer(string name)
            {
                if (!root.TryGetProperty(name, out var value)) throw Bad(path, $"{name} is missing.");
                return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) ? n
                    : throw Bad(path, $"{name} must be an integer, got {Shorten(value.GetRawText())}.");
            }
            float Real(string name, float fallback)
            {
                if (!root.TryGetProperty(name, out var value)) return fallback;
                return value.ValueKind == JsonValueKind.Number && value.TryGetSingle(out float x) && float.IsFinite(x) ? x
                    : throw Bad(path, $"{name} must be a number, got {Shorten(value.GetRawText())}.");
            }
            var config = new GptConfig
            {
                VocabSize = Integer("vocab_size"), ContextLength = Integer("n_positions"), Layers = Integer("n_layer"), Heads = Integer("n_head"),
                Width = Integer("n_embd"), Dropout = Real("resid_pdrop", 0f), LayerNormEpsilon = Real("layer_norm_epsilon", 1e-5f),
            };
            if (config.Problem() is { } problem) throw Bad(path, problem);
            return config;
        }
    }

    private static InvalidDataException Bad(string path, string problem) => new($"Model config {path}: {problem}");

    private static string FirstSentence(string message) => message.Split(" LineNumber:")[0].TrimEnd('.', ' ');

    /// <summary>A value as the file spells it, on one line and cut to a readable length.</summary>
    private static string Shorten(string raw)
    {
        raw = raw.ReplaceLineEndings(" ");
        return raw.Length <= 40 ? raw : raw[..40] + "...";
    }
}
