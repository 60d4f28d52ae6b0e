using HardFocus.Engine;
using HardFocus.Engine.Backends;

namespace HardFocus.Models.Gpt;

/// <summary>
/// GPT-2: token and learned position embeddings, pre-LayerNorm blocks (causal self-attention and a 4x GELU MLP, each
/// around a residual), a final LayerNorm and an LM head tied to the token embedding. Parameter names follow
/// Hugging Face's GPT-2 where the layout allows (wte, wpe, h.N.ln_1, ..., ln_f); q, k and v are separate projections
/// (Hugging Face fuses them into c_attn, which <see cref="GptCheckpoint"/> splits and joins).
/// </summary>
public sealed class GptModel : DecoderModel
{
    private readonly Block[] _blocks;

    public GptModel(GptConfig config, IBackend backend, ulong seed) : base(backend)
    {
        config.Validate();
        GptConfig = config;
        var rng = new Rng(seed);
        // GPT-2 initialisation: N(0, 0.02) everywhere, residual output projections scaled by 1/sqrt(2 * layers) so
        // the residual stream's variance does not grow with depth.
        const float std = 0.02f;
        float residualStd = std / MathF.Sqrt(2 * config.Layers);
        TokenEmbedding = RegisterModule("wte", new Embedding(config.VocabSize, config.Width, rng, std, backend));
        PositionEmbedding = RegisterModule("wpe", new Embedding(config.ContextLength, config.Width, rng, std, backend));
        _blocks = new Block[config.Layers];
        for (int i = 0; i < config.Layers; i++)
            _blocks[i] = RegisterModule($"h.{i}", new Block(i, config, rng, std, residualStd, backend));
        FinalNorm = RegisterModule("ln_f", new LayerNorm(config.Width, backend, config.LayerNormEpsilon));
    }

    public GptConfig GptConfig { get; }
    public override IDecoderConfig Config => GptConfig;
    public Embedding TokenEmbedding { get; }
    public Embedding PositionEmbedding { get; }
    public LayerNorm FinalNorm { get; }

    protected override Tensor Trunk(IndexTensor ids, int start, LayerAttention attention)
    {
        int seq = ids.Shape[1];
        var positions = IndexTensor.FromArray(Enumerable.Range(start, seq).ToArray(), new Shape(seq), Backend);
        var x = TokenEmbedding.Forward(ids) + PositionEmbedding.Forward(positions);
        var dropout = new DropoutSource(Training ? GptConfig.Dropout : 0f, DropoutSeed);
        x = dropout.Apply(x);
        foreach (var block in _blocks) x = block.Forward(x, dropout, attention);
        return x;
    }

    protected override Tensor Head(Tensor hidden) => Ops.Linear(FinalNorm.Forward(hidden), TokenEmbedding.Weight);

    protected override (int Layers, int KvHeads, int HeadDim) CacheShape => (GptConfig.Layers, GptConfig.Heads, GptConfig.HeadDim);

    /// <summary>Our own names as they are, or Hugging Face's GPT-2 layout converted (see <see cref="HuggingFaceGpt2"/>).</summary>
    public override Dictionary<string, (int[] Shape, float[] Data)> FromCheckpoint(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> tensors) =>
        HuggingFaceGpt2.IsHuggingFaceLayout(tensors.Keys)
            ? HuggingFaceGpt2.ToModel(tensors, ParameterShapes())
            : tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    public override Dictionary<string, (int[] Shape, float[] Data)> ToHuggingFace() => HuggingFaceGpt2.FromModel(HostStateDict());

    private sealed class Block : Module
    {
        private readonly LayerNorm _ln1, _ln2;
        private readonly Linear _q, _k, _v, _attnProj, _fc, _mlpProj;
        private readonly int _index, _heads;

        public Block(int index, GptConfig c, Rng rng, float std, float residualStd, IBackend backend)
        {
            _index = index;
            _heads = c.Heads;
            _ln1 = RegisterModule("ln_1", new LayerNorm(c.Width, backend, c.LayerNormEpsilon));
            _q = RegisterModule("attn.q_proj", new Linear(c.Width, c.Width, rng, std, backend));
            _k = RegisterModule("attn.k_proj", new Linear(c.Width, c.Width, rng, std, backend));
            _v = RegisterModule("attn.v_proj", new Linear(c.Width, c.Width, rng, std, backend));
            _attnProj = RegisterModule("attn.c_proj", new Linear(c.Width, c.Width, rng, residualStd, backend));
            _ln2 = RegisterModule("ln_2", new LayerNorm(c.Width, backend, c.LayerNormEpsilon));
            _fc = RegisterModule("mlp.c_fc", new Linear(c.Width, 4 * c.Width, rng, std, backend));
            _mlpProj = RegisterModule("mlp.c_proj", new Linear(4 * c.Width, c.Width, rng, residualStd, backend));
        }

        public Tensor Forward(Tensor x, DropoutSource dropout, LayerAttention attention)
        {
            var h = _ln1.Forward(x);
            var attended = attention(_index,
                Ops.SplitHeads(_q.Forward(h), _heads),
                Ops.SplitHeads(_k.Forward(h), _heads),
                Ops.SplitHeads(_v.Forward(h), _heads));
            x = x + dropout.Apply(_attnProj.Forward(Ops.MergeHeads(attended)));
            h = _ln2.Forward(x);
            return x + dropout.Apply(_mlpProj.Forward(Ops.Gelu(_fc.Forward(h))));
        }
    }

    /// <summary>Hands each dropout site in one forward pass its own seed, derived from the pass's seed.</summary>
    private sealed class DropoutSource(float p, ulong seed)
    {
        private ulong _site;

        public Tensor Apply(Tensor x) => p == 0f ? x : Ops.Dropout(x, p, Rng.Mix(seed + ++_site));
    }
}
