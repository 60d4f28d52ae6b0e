using HardFocus.Engine;
using HardFocus.Engine.Backends;

namespace HardFocus.Models.Llama;

/// <summary>
/// A LLaMA-family decoder: token embedding, pre-RMSNorm blocks (grouped-query causal self-attention with rotary
/// positions, and a SwiGLU MLP, each around a residual), a final RMSNorm and an LM head, tied to the embedding or not.
/// No dropout and no position embedding table. Parameter names are Hugging Face's (model.layers.N.self_attn.q_proj.weight,
/// ...) and Linear already stores [out, in] as they do, so a checkpoint loads and saves with no conversion at all.
/// </summary>
public sealed class LlamaModel : DecoderModel
{
    private readonly Embedding _embedding;
    private readonly Block[] _blocks;
    private readonly RmsNorm _finalNorm;
    private readonly Linear? _lmHead;
    // Rotary cosines and sines of every position the model takes, computed once on the host; a forward pass uploads the
    // rows of its sequence length (a few KB), the way GPT uploads its position ids, so no table outlives its graph.
    private readonly Lazy<(float[] Cos, float[] Sin)> _rotary;

    public LlamaModel(LlamaConfig config, IBackend backend, ulong seed) : base(backend)
    {
        config.Validate();
        LlamaConfig = config;
        var rng = new Rng(seed);
        // N(0, 0.02) as Hugging Face initialises LLaMA; the projections into the residual stream (o_proj, down_proj) get
        // GPT-2's 1/sqrt(2 * layers) so the stream's variance does not grow with depth.
        const float std = 0.02f;
        float residualStd = std / MathF.Sqrt(2 * config.Layers);
        _embedding = RegisterModule("model.embed_tokens", new Embedding(config.VocabSize, config.Width, rng, std, backend));
        _blocks = new Block[config.Layers];
        for (int i = 0; i < config.Layers; i++)
            _blocks[i] = RegisterModule($"model.layers.{i}", new Block(i, config, rng, std, residualStd, backend));
        _finalNorm = RegisterModule("model.norm", new RmsNorm(config.Width, config.RmsNormEpsilon, backend));
        if (!config.TieWordEmbeddings)
            _lmHead = RegisterModule("lm_head", new Linear(config.Width, config.VocabSize, rng, std, backend, bias: false));
        _rotary = new(() => RotaryTable.Compute(0, config.ContextLength, config.HeadDim, config.RopeTheta));
    }

    public LlamaConfig LlamaConfig { get; }
    public override IDecoderConfig Config => LlamaConfig;

    protected override Tensor Trunk(IndexTensor ids, int start, LayerAttention attention)
    {
        var (cos, sin) = Rotary(start, ids.Shape[1]);
        var x = _embedding.Forward(ids);
        foreach (var block in _blocks) x = block.Forward(x, cos, sin, attention);
        return x;
    }

    protected override Tensor Head(Tensor hidden) => Ops.Linear(_finalNorm.Forward(hidden), _lmHead?.Weight ?? _embedding.Weight);

    protected override (int Layers, int KvHeads, int HeadDim) CacheShape => (LlamaConfig.Layers, LlamaConfig.KvHeads, LlamaConfig.HeadDim);

    /// <summary>cos and sin [seq, headDim / 2] of positions start..start+seq-1, owned by the current scope.</summary>
    private (Tensor Cos, Tensor Sin) Rotary(int start, int seq)
    {
        int half = LlamaConfig.HeadDim / 2;
        var shape = new Shape(seq, half);
        var (cos, sin) = _rotary.Value;
        return (Tensor.FromArray(cos.AsSpan(start * half, seq * half), shape, Backend),
            Tensor.FromArray(sin.AsSpan(start * half, seq * half), shape, Backend));
    }

    /// <summary>Hugging Face's names are ours. Files may also hold what is not a parameter: the rotary inverse frequencies of
    /// older LLaMA exports, and an lm_head.weight that a tied model does not use.</summary>
    public override Dictionary<string, (int[] Shape, float[] Data)> FromCheckpoint(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> tensors) =>
        tensors.Where(kv => !kv.Key.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)
                            && !(LlamaConfig.TieWordEmbeddings && kv.Key == "lm_head.weight"))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    public override Dictionary<string, (int[] Shape, float[] Data)> ToHuggingFace() => HostStateDict();

    private sealed class Block : Module
    {
        private readonly RmsNorm _attentionNorm, _mlpNorm;
        private readonly Linear _q, _k, _v, _o, _gate, _up, _down;
        private readonly int _index, _heads, _kvHeads;

        public Block(int index, LlamaConfig c, Rng rng, float std, float residualStd, IBackend backend)
        {
            _index = index;
            _heads = c.Heads;
            _kvHeads = c.KvHeads;
            int kvWidth = c.KvHeads * c.HeadDim;
            _attentionNorm = RegisterModule("input_layernorm", new RmsNorm(c.Width, c.RmsNormEpsilon, backend));
            _q = RegisterModule("self_attn.q_proj", new Linear(c.Width, c.Width, rng, std, backend, bias: c.QkvBias));
            _k = RegisterModule("self_attn.k_proj", new Linear(c.Width, kvWidth, rng, std, backend, bias: c.QkvBias));
            _v = RegisterModule("self_attn.v_proj", new Linear(c.Width, kvWidth, rng, std, backend, bias: c.QkvBias));
            _o = RegisterModule("self_attn.o_proj", new Linear(c.Width, c.Width, rng, residualStd, backend, bias: c.OutputBias));
            _mlpNorm = RegisterModule("post_attention_layernorm", new RmsNorm(c.Width, c.RmsNormEpsilon, backend));
            _gate = RegisterModule("mlp.gate_proj", new Linear(c.Width, c.MlpWidth, rng, std, backend, bias: false));
            _up = RegisterModule("mlp.up_proj", new Linear(c.Width, c.MlpWidth, rng, std, backend, bias: false));
            _down = RegisterModule("mlp.down_proj", new Linear(c.MlpWidth, c.Width, rng, residualStd, backend, bias: false));
        }

        public Tensor Forward(Tensor x, Tensor cos, Tensor sin, LayerAttention attention)
        {
            var h = _attentionNorm.Forward(x);
            var attended = attention(_index,
                Ops.Rope(Ops.SplitHeads(_q.Forward(h), _heads), cos, sin),
                Ops.Rope(Ops.SplitHeads(_k.Forward(h), _kvHeads), cos, sin),
                Ops.SplitHeads(_v.Forward(h), _kvHeads));
            x = x + _o.Forward(Ops.MergeHeads(attended));
            h = _mlpNorm.Forward(x);
            return x + _down.Forward(Ops.SwiGlu(_gate.Forward(h), _up.Forward(h)));
        }
    }
}
