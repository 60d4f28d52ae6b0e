using System.Text.Json.Nodes;
using HardFocus.Engine.Backends;

namespace HardFocus.Models.Llama;

/// <summary>
/// The shape of a LLaMA-family decoder (LLaMA, Qwen2, Mistral): RMSNorm, rotary positions, a SwiGLU MLP and
/// grouped-query attention. Field names follow Hugging Face's LlamaConfig; <see cref="ModelType"/> keeps the family a
/// checkpoint came from, because it decides which attention projections carry biases.
/// </summary>
public sealed record LlamaConfig : IDecoderConfig
{
    public static readonly string[] ModelTypes = ["llama", "qwen2", "mistral"];
    public static readonly string[] PresetNames = ["llama-tiny", "llama-small", "smollm-135m"];

    public string ModelType { get; init; } = "llama";
    public int VocabSize { get; init; }
    /// <summary>hidden_size.</summary>
    public int Width { get; init; }
    /// <summary>intermediate_size: the width of the SwiGLU MLP's gate and up projections.</summary>
    public int MlpWidth { get; init; }
    public int Layers { get; init; }
    public int Heads { get; init; }
    /// <summary>num_key_value_heads: each serves Heads / KvHeads query heads.</summary>
    public int KvHeads { get; init; }
    /// <summary>max_position_embeddings (for Mistral capped at its sliding window, which this model does not implement).</summary>
    public int ContextLength { get; init; }
    public float RmsNormEpsilon { get; init; } = 1e-5f;
    public float RopeTheta { get; init; } = 10000f;
    public bool TieWordEmbeddings { get; init; }
    /// <summary>LLaMA's attention_bias: biases on q, k, v and o. Qwen2 always has q, k and v biases and none on o.</summary>
    public bool AttentionBias { get; init; }
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    public int? PadTokenId { get; init; }

    public int HeadDim => Width / Heads;
    public bool QkvBias => ModelType == "qwen2" || (ModelType == "llama" && AttentionBias);
    public bool OutputBias => ModelType == "llama" && AttentionBias;

    /// <summary>A GPT shape's vocabulary, context, width, depth and heads as a LLaMA: half as many key/value heads (where
    /// the heads split evenly) and a SwiGLU MLP about 8/3 the width, rounded up to a multiple of 8 (LLaMA's ratio: its
    /// three matrices cost what GPT's two 4x matrices do), tied embeddings like GPT-2's.</summary>
    public static LlamaConfig Like(Gpt.GptConfig gpt) => new()
    {
        VocabSize = gpt.VocabSize, ContextLength = gpt.ContextLength, Layers = gpt.Layers, Heads = gpt.Heads,
        KvHeads = gpt.Heads % 2 == 0 ? gpt.Heads / 2 : gpt.Heads, Width = gpt.Width, MlpWidth = (8 * gpt.Width / 3 + 7) / 8 * 8,
        TieWordEmbeddings = true,
    };

    /// <summary>The `tiny` preset's shape as a LLaMA (2 layers, width 64, 2 heads, 1 key/value head, MLP 176).</summary>
    public static LlamaConfig Tiny(int vocab) => Like(Gpt.GptConfig.Tiny(vocab));

    /// <summary>The `small` preset's shape as a LLaMA (4 layers, width 256, 4 heads, 2 key/value heads, MLP 688).</summary>
    public static LlamaConfig Small(int vocab) => Like(Gpt.GptConfig.Small(vocab));

    /// <summary>SmolLM2-135M's shape (its config.json on the Hugging Face hub), vocabulary included.</summary>
    public static LlamaConfig SmolLm135M() => new()
    {
        VocabSize = 49152, ContextLength = 8192, Layers = 30, Heads = 9, KvHeads = 3, Width = 576, MlpWidth = 1536,
        TieWordEmbeddings = true, RopeTheta = 100000f, RmsNormEpsilon = 1e-5f, BosTokenId = 0, EosTokenId = 0,
    };

    public static LlamaConfig? Preset(string name, int vocab) => name switch
    {
        "llama-tiny" => Tiny(vocab),
        "llama-small" => Small(vocab),
        "smollm-135m" => SmolLm135M(),
        _ => null,
    };

    // Bounds as generous as GPT's; they turn a corrupt file into one line instead of an attempt to allocate it.
    private const int MaxVocab = 1_000_000, MaxContext = 1_048_576, MaxLayers = 1024, MaxHeads = 1024, MaxWidth = 65_536, MaxMlp = 262_144;

    /// <summary>The first problem with this shape, naming fields as config.json does; null when it is valid.</summary>
    public string? Problem()
    {
        if (!ModelTypes.Contains(ModelType)) return $"model_type '{ModelType}' is not a LLaMA-family type ({string.Join(", ", ModelTypes)}).";
        foreach (var (name, value, max) in new[] { ("vocab_size", VocabSize, MaxVocab), ("max_position_embeddings", ContextLength, MaxContext),
                     ("num_hidden_layers", Layers, MaxLayers), ("num_attention_heads", Heads, MaxHeads), ("num_key_value_heads", KvHeads, MaxHeads),
                     ("hidden_size", Width, MaxWidth), ("intermediate_size", MlpWidth, MaxMlp) })
            if (value < 1 || value > max) return $"{name} must be from 1 to {max}, got {value}.";
        if (Width % Heads != 0) return $"hidden_size {Width} is not divisible by num_attention_heads {Heads}.";
        if (HeadDim % 2 != 0) return $"the head size hidden_size / num_attention_heads = {HeadDim} must be even for rotary embeddings.";
        if (KvHeads > Heads || Heads % KvHeads != 0) return $"num_key_value_heads {KvHeads} must divide num_attention_heads {Heads}.";
        long largest = Math.Max((long)VocabSize * Width, (long)MlpWidth * Width);
        if (largest > Array.MaxLength) return $"the model's largest tensor would hold {largest} values, more than one array can ({Array.MaxLength}).";
        if (!(RmsNormEpsilon is > 0f and <= 1f)) return $"rms_norm_eps must be in (0, 1], got {RmsNormEpsilon}.";
        if (!(RopeTheta > 0f)) return $"rope_theta must be positive, got {RopeTheta}.";
        foreach (var (name, id) in new[] { ("bos_token_id", BosTokenId), ("eos_token_id", EosTokenId), ("pad_token_id", PadTokenId) })
            if (id is { } value && (value < 0 || value >= VocabSize)) return $"{name} {value} is outside the vocabulary [0, {VocabSize}).";
        return null;
    }

    public void Validate()
    {
        if (Problem() is { } problem) throw new ArgumentException($"Model config: {problem}");
    }

    public IDecoderConfig WithDropout(float p) => p == 0f ? this
        : throw new ArgumentException($"--dropout {p}: {ModelType} models have no dropout; leave --dropout at 0.");

    public DecoderModel CreateModel(IBackend backend, ulong seed) => new LlamaModel(this, backend, seed);

    public string ToJson()
    {
        var json = new JsonObject
        {
            ["model_type"] = ModelType,
            ["architectures"] = new JsonArray(ModelType switch { "qwen2" => "Qwen2ForCausalLM", "mistral" => "MistralForCausalLM", _ => "LlamaForCausalLM" }),
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = Width,
            ["intermediate_size"] = MlpWidth,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads,
            ["max_position_embeddings"] = ContextLength,
            ["rms_norm_eps"] = RmsNormEpsilon,
            ["rope_theta"] = RopeTheta,
            ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["torch_dtype"] = "float32",
        };
        if (ModelType == "llama") json["attention_bias"] = AttentionBias;
        if (ModelType == "mistral") json["sliding_window"] = null;
        if (BosTokenId is { } bos) json["bos_token_id"] = bos;
        if (EosTokenId is { } eos) json["eos_token_id"] = eos;
        if (PadTokenId is { } pad) json["pad_token_id"] = pad;
        return json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// A LLaMA, Qwen2 or Mistral config.json. The shape (vocab_size, hidden_size, intermediate_size, num_hidden_layers,
    /// num_attention_heads, max_position_embeddings) is required; num_key_value_heads, rms_norm_eps, rope_theta,
    /// tie_word_embeddings and attention_bias fall back to Hugging Face's defaults for the family. Fields that would change
    /// the computation into one this model does not run are refused: another hidden_act, rope_scaling, a head_dim other than
    /// hidden_size / heads, MLP biases, attention dropout, and sliding-window attention where it could matter.
    /// </summary>
    public static LlamaConfig Read(ConfigFile file)
    {
        string type = file.Text("model_type")!;
        string act = file.Text("hidden_act") ?? "silu";
        if (act != "silu") throw file.Error($"hidden_act \"{act}\" is not supported: the MLP computes silu (SwiGLU).");
        if (file.Has("rope_scaling")) throw file.Error($"rope_scaling {file.Raw("rope_scaling")} is not supported: rotary angles are unscaled.");
        if (file.Boolean("mlp_bias", false)) throw file.Error("mlp_bias true is not supported.");
        if (file.Real("attention_dropout", 0f) != 0f) throw file.Error($"attention_dropout {file.Raw("attention_dropout")} is not supported: LLaMA-family models here have no dropout.");
        if (type == "qwen2" && file.Boolean("use_sliding_window", false)) throw file.Error("use_sliding_window true is not supported.");
        int heads = file.Integer("num_attention_heads"), width = file.Integer("hidden_size"), context = file.Integer("max_position_embeddings");
        if (file.Has("head_dim") && file.Integer("head_dim") != width / Math.Max(1, heads))
            throw file.Error($"head_dim {file.Integer("head_dim")} is not supported: the head size must be hidden_size / num_attention_heads ({width / Math.Max(1, heads)}).");
        // Mistral's sliding window only matters for sequences longer than it: those are refused by capping the context.
        if (type == "mistral" && file.Has("sliding_window")) context = Math.Min(context, file.Integer("sliding_window"));
        var config = new LlamaConfig
        {
            ModelType = type, VocabSize = file.Integer("vocab_size"), Width = width, MlpWidth = file.Integer("intermediate_size"),
            Layers = file.Integer("num_hidden_layers"), Heads = heads, KvHeads = file.Integer("num_key_value_heads", heads),
            ContextLength = context, RmsNormEpsilon = file.Real("rms_norm_eps", 1e-6f), RopeTheta = file.Real("rope_theta", 10000f),
            TieWordEmbeddings = file.Boolean("tie_word_embeddings", false), AttentionBias = type == "llama" && file.Boolean("attention_bias", false),
            BosTokenId = TokenId(file, "bos_token_id"), EosTokenId = TokenId(file, "eos_token_id"), PadTokenId = TokenId(file, "pad_token_id"),
        };
        if (config.Problem() is { } problem) throw file.Error(problem);
        return config;
    }

    /// <summary>A token id; some configs list several EOS ids, of which the first is the one that ends a response.</summary>
    private static int? TokenId(ConfigFile file, string name) => !file.Has(name) ? null
        : file.Raw(name).StartsWith('[') ? file.FirstInteger(name) : file.Integer(name);
}
