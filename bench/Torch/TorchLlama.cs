using HardFocus.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace HardFocus.Bench.Torch;

/// <summary>
/// A LLaMA-family decoder written directly in TorchSharp from a Hugging Face safetensors file, as Hugging Face's
/// modeling code computes it and independently of HardFocus: nn.Linear weights [out, in], RMSNorm in the input's scale,
/// rotary embeddings with the rotate-half convention (inv_freq = theta^(-2i/d), cos and sin of positions x inv_freq
/// repeated over both halves), keys and values repeated over their query heads (repeat_kv), PyTorch's causal
/// scaled_dot_product_attention, a SwiGLU MLP down(silu(gate(x)) * up(x)), and the LM head tied to the embedding or not.
/// </summary>
internal sealed class TorchLlama : ITorchDecoder
{
    private readonly LlamaConfig _config;
    private readonly TorchParameters _parameters;

    public TorchLlama(LlamaConfig config, string huggingFaceSafetensors)
    {
        _config = config;
        _parameters = new TorchParameters(huggingFaceSafetensors, name => config.TieWordEmbeddings && name == "lm_head.weight");
    }

    public Dictionary<string, TorchSharp.Modules.Parameter> Parameters => _parameters.All;

    private Tensor P(string name) => _parameters[name];

    private Tensor? Optional(string name) => _parameters.Optional(name);

    public Tensor Forward(Tensor ids)
    {
        long batch = ids.shape[0], seq = ids.shape[1];
        int heads = _config.Heads, kvHeads = _config.KvHeads, headDim = _config.HeadDim;
        var (cos, sin) = Rotary(seq, headDim);
        var x = P("model.embed_tokens.weight").index_select(0, ids.view(-1)).view(batch, seq, _config.Width);
        for (int layer = 0; layer < _config.Layers; layer++)
        {
            string l = $"model.layers.{layer}.";
            var h = RmsNorm(x, l + "input_layernorm.weight");
            Tensor Heads(Tensor t, int count) => t.view(batch, seq, count, headDim).transpose(1, 2);
            var q = Rope(Heads(Linear(h, l + "self_attn.q_proj"), heads), cos, sin);
            var k = RepeatKv(Rope(Heads(Linear(h, l + "self_attn.k_proj"), kvHeads), cos, sin), heads / kvHeads);
            var v = RepeatKv(Heads(Linear(h, l + "self_attn.v_proj"), kvHeads), heads / kvHeads);
            var attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
            x = x + Linear(attended.transpose(1, 2).reshape(batch, seq, _config.Width), l + "self_attn.o_proj");
            h = RmsNorm(x, l + "post_attention_layernorm.weight");
            x = x + Linear(nn.functional.silu(Linear(h, l + "mlp.gate_proj")) * Linear(h, l + "mlp.up_proj"), l + "mlp.down_proj");
        }
        x = RmsNorm(x, "model.norm.weight");
        return x.matmul((Optional("lm_head.weight") ?? P("model.embed_tokens.weight")).t());
    }

    /// <summary>cos and sin [seq, headDim] of positions 0..seq-1, each frequency used by both halves of a head.</summary>
    private (Tensor Cos, Tensor Sin) Rotary(long seq, int headDim)
    {
        var inverseFrequency = 1.0f / pow(_config.RopeTheta, arange(0, headDim, 2, ScalarType.Int64).to(ScalarType.Float32) / headDim);
        var angles = outer(arange(seq, ScalarType.Int64).to(ScalarType.Float32), inverseFrequency);
        var both = cat([angles, angles], -1);
        return (both.cos(), both.sin());
    }

    private static Tensor Rope(Tensor x, Tensor cos, Tensor sin)
    {
        var halves = x.chunk(2, -1);
        var rotated = cat([-halves[1], halves[0]], -1);
        return x * cos + rotated * sin;
    }

    /// <summary>[batch, kvHeads, seq, d] to [batch, kvHeads * repeats, seq, d], each key/value head serving
    /// <paramref name="repeats"/> consecutive query heads.</summary>
    private static Tensor RepeatKv(Tensor x, int repeats) => repeats == 1 ? x : x.repeat_interleave(repeats, 1);

    private Tensor RmsNorm(Tensor x, string weight) =>
        x * rsqrt(x.pow(2).mean([-1], keepdim: true) + _config.RmsNormEpsilon) * P(weight);

    private Tensor Linear(Tensor x, string name) => Optional(name + ".bias") is { } bias
        ? nn.functional.linear(x, P(name + ".weight"), bias)
        : nn.functional.linear(x, P(name + ".weight"));

    public void Dispose() => _parameters.Dispose();
}
