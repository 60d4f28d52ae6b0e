using System.Text.Json;
using System.Text.Json.Serialization;
using HardFocus.Engine.Backends;

namespace HardFocus.Models.Gpt;

/// <summary>The shape of a GPT-2-style decoder. JSON names follow Hugging Face's GPT-2 config, so its config.json reads as is.</summary>
public sealed record GptConfig : IDecoderConfig
{
    [JsonPropertyName("model_type")] public string ModelType => "gpt2";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 50257;
    [JsonPropertyName("n_positions")] public int ContextLength { get; init; } = 1024;
    [JsonPropertyName("n_layer")] public int Layers { get; init; } = 12;
    [JsonPropertyName("n_head")] public int Heads { get; init; } = 12;
    [JsonPropertyName("n_embd")] public int Width { get; init; } = 768;
    [JsonPropertyName("resid_pdrop")] public float Dropout { get; init; }
    [JsonPropertyName("layer_norm_epsilon")] public float LayerNormEpsilon { get; init; } = 1e-5f;

    [JsonIgnore] public int HeadDim => Width / Heads; // derived, not a Hugging Face key

    public static GptConfig Tiny(int vocab) => new() { VocabSize = vocab, ContextLength = 64, Layers = 2, Heads = 2, Width = 64 };
    public static GptConfig Small(int vocab) => new() { VocabSize = vocab, ContextLength = 128, Layers = 4, Heads = 4, Width = 256 };
    public static GptConfig Gpt2(int vocab = 50257) => new() { VocabSize = vocab };

    public static readonly string[] PresetNames = ["tiny", "small", "gpt2"];

    /// <summary>A preset by name with the tokenizer's vocabulary, or null for a name that is not a GPT preset.</summary>
    public static GptConfig? Preset(string name, int vocab) => name switch
    {
        "tiny" => Tiny(vocab),
        "small" => Small(vocab),
        "gpt2" => Gpt2(vocab),
        _ => null,
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

    public IDecoderConfig WithDropout(float p) => this with { Dropout = p };

    public DecoderModel CreateModel(IBackend backend, ulong seed) => new GptModel(this, backend, seed);

    /// <summary>Reads a GPT-2 config.json (see <see cref="Read"/>); its model_type must be gpt2.</summary>
    public static GptConfig Load(string path)
    {
        var file = ConfigFile.Read(path);
        if (file.Text("model_type") != "gpt2") throw file.Error($"model_type must be \"gpt2\" for a GPT-2 config, got {file.Raw("model_type")}.");
        return Read(file);
    }

    /// <summary>
    /// A GPT-2 config.json, ours or Hugging Face's. vocab_size, n_positions, n_layer, n_head and n_embd are required
    /// integers; resid_pdrop and layer_norm_epsilon optional numbers. Fields that would change the computation into one
    /// this model does not run (another activation, unscaled or layer-scaled attention, an MLP other than 4x, untied
    /// embeddings) are refused, never ignored; the rest (dropout of other sites, initialisation, token ids) do not change it.
    /// </summary>
    public static GptConfig Read(ConfigFile file)
    {
        var config = new GptConfig
        {
            VocabSize = file.Integer("vocab_size"), ContextLength = file.Integer("n_positions"), Layers = file.Integer("n_layer"),
            Heads = file.Integer("n_head"), Width = file.Integer("n_embd"), Dropout = file.Real("resid_pdrop", 0f),
            LayerNormEpsilon = file.Real("layer_norm_epsilon", 1e-5f),
        };
        // gelu_new and gelu_pytorch_tanh are both the tanh approximation this model computes.
        if (file.Text("activation_function") is { } activation && activation is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw file.Error($"activation_function \"{activation}\" is not supported: this GPT-2 computes gelu_new (the tanh approximation).");
        if (!file.Boolean("scale_attn_weights", true))
            throw file.Error("scale_attn_weights false is not supported: attention scores are always scaled by 1/sqrt(head size).");
        if (file.Boolean("scale_attn_by_inverse_layer_idx", false))
            throw file.Error("scale_attn_by_inverse_layer_idx true is not supported.");
        if (!file.Boolean("tie_word_embeddings", true))
            throw file.Error("tie_word_embeddings false is not supported: this GPT-2 ties its LM head to the token embedding.");
        if (file.Has("n_inner") && file.Integer("n_inner") != 4 * config.Width)
            throw file.Error($"n_inner {file.Integer("n_inner")} is not supported: the MLP is 4 x n_embd ({4 * config.Width}) wide.");
        if (config.Problem() is { } problem) throw file.Error(problem);
        return config;
    }
}
