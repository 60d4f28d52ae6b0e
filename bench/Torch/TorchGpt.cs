using HardFocus.Models.Gpt;
using TorchSharp;
using static TorchSharp.torch;

namespace HardFocus.Bench.Torch;

/// <summary>
/// GPT-2 written directly in TorchSharp from a safetensors file in Hugging Face's layout, read as that layout means
/// it and independently of HardFocus's converter: Conv1D weights are [in, out] and multiply from the right
/// (y = x W + b), c_attn holds q, k and v side by side along its output, and the LM head is wte itself. Pre-LayerNorm
/// blocks, GELU with tanh, PyTorch's scaled_dot_product_attention with its causal mask.
/// </summary>
internal sealed class TorchGpt : ITorchDecoder
{
    private readonly GptConfig _config;
    private readonly TorchParameters _parameters;

    public TorchGpt(GptConfig config, string huggingFaceSafetensors)
    {
        _config = config;
        _parameters = new TorchParameters(huggingFaceSafetensors, name => name == "lm_head.weight" || name.EndsWith(".attn.bias", StringComparison.Ordinal));
    }

    public Dictionary<string, TorchSharp.Modules.Parameter> Parameters => _parameters.All;

    private Tensor P(string name) => _parameters[name];

    public Tensor Forward(Tensor ids)
    {
        long batch = ids.shape[0], seq = ids.shape[1];
        int width = _config.Width, heads = _config.Heads;
        var positions = arange(seq, ScalarType.Int64);
        var x = P("wte.weight").index_select(0, ids.view(-1)).view(batch, seq, width) + P("wpe.weight").index_select(0, positions);
        for (int layer = 0; layer < _config.Layers; layer++)
        {
            string h = $"h.{layer}.";
            var normed = LayerNorm(x, h + "ln_1");
            var qkv = Conv1D(normed, h + "attn.c_attn");
            var parts = qkv.split(width, -1);
            Tensor Heads(Tensor t) => t.view(batch, seq, heads, width / heads).transpose(1, 2);
            var attended = nn.functional.scaled_dot_product_attention(Heads(parts[0]), Heads(parts[1]), Heads(parts[2]), is_casual: true);
            x = x + Conv1D(attended.transpose(1, 2).reshape(batch, seq, width), h + "attn.c_proj");
            normed = LayerNorm(x, h + "ln_2");
            x = x + Conv1D(nn.functional.gelu(Conv1D(normed, h + "mlp.c_fc"), TorchSharp.Modules.GELU.Approximate.tanh), h + "mlp.c_proj");
        }
        return LayerNorm(x, "ln_f").matmul(P("wte.weight").t());
    }

    /// <summary>Masked mean token cross-entropy per sequence: sum_t m_t CE_t / sum_t m_t, shape [batch].</summary>
    public static Tensor PerSampleLoss(Tensor logits, Tensor targets, Tensor mask)
    {
        var tokens = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.view(-1), reduction: nn.Reduction.None)
            .view(targets.shape[0], targets.shape[1]);
        return (tokens * mask).sum(1) / mask.sum(1).clamp_min(1f);
    }

    private Tensor LayerNorm(Tensor x, string name) =>
        nn.functional.layer_norm(x, [_config.Width], P(name + ".weight"), P(name + ".bias"), _config.LayerNormEpsilon);

    // Conv1D as Hugging Face defines it: weight [in, out], y = x W + b.
    private Tensor Conv1D(Tensor x, string name) => x.matmul(P(name + ".weight")) + P(name + ".bias");

    public void Dispose() => _parameters.Dispose();
}
