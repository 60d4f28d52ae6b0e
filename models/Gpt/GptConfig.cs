using System.Text.Json;
using System.Text.Json.Serialization;

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

    public void Validate()
    {
        if (VocabSize <= 0 || ContextLength <= 0 || Layers <= 0 || Heads <= 0 || Width <= 0)
            throw new ArgumentException("Model config: vocab_size, n_positions, n_layer, n_head and n_embd must all be positive.");
        if (Width % Heads != 0) throw new ArgumentException($"Model config: n_embd {Width} is not divisible by n_head {Heads}.");
        if (Dropout is < 0f or >= 1f) throw new ArgumentException($"Model config: dropout {Dropout} must be in [0, 1).");
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static GptConfig Load(string path)
    {
        GptConfig? config;
        try { config = JsonSerializer.Deserialize<GptConfig>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new ArgumentException($"Model config {path} is not valid JSON: {e.Message}"); }
        if (config == null) throw new ArgumentException($"Model config {path} is empty.");
        config.Validate();
        return config;
    }
}
