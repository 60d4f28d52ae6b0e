using HardFocus.Engine;
using HardFocus.Engine.Backends;

namespace HardFocus.Models;

/// <summary>
/// What the trainer, the evaluators and the generator need of a decoder-only language model: token ids [batch, seq] in,
/// logits [batch, seq, vocab] out, named parameters, and a way to read a checkpoint in its family's layout. GPT-2 and
/// the LLaMA family (LLaMA, Qwen2, Mistral) implement it; the reweighters only ever see per-sample losses.
/// </summary>
public abstract class DecoderModel(IBackend backend) : Module
{
    public IBackend Backend { get; } = backend;

    public abstract IDecoderConfig Config { get; }

    /// <summary>Dropout is applied only while training and only when the config asks for it.</summary>
    public bool Training { get; set; }

    /// <summary>Seed for this forward pass's dropout masks; the trainer sets it per micro-batch so runs replay exactly.</summary>
    public ulong DropoutSeed { get; set; }

    /// <summary>ids [batch, seq] to logits [batch, seq, vocab].</summary>
    public Tensor Forward(IndexTensor ids)
    {
        if (ids.Shape.Rank != 2) throw new ArgumentException($"Decoder input must be [batch, seq] token ids, got {ids.Shape}.");
        if (ids.Shape[1] > Config.ContextLength) throw new ArgumentException($"Sequence length {ids.Shape[1]} exceeds the model's context of {Config.ContextLength}.");
        return Head(Trunk(ids, 0, CausalAttention));
    }

    /// <summary>
    /// ids [1, count] that continue the tokens <paramref name="cache"/> holds (the prompt on an empty cache, then one token
    /// at a time) to the logits [1, vocab] of the last of them; their keys and values join the cache. The final norm and
    /// the LM head run on that one position only. Inference only: call it under GradMode.NoGrad().
    /// </summary>
    public Tensor ForwardLast(IndexTensor ids, KeyValueCache cache)
    {
        if (ids.Shape.Rank != 2 || ids.Shape[0] != 1)
            throw new ArgumentException($"Cached decoding takes one sequence, [1, count] token ids, got {ids.Shape}.");
        var pass = cache.Begin(ids.Shape[1]);
        var hidden = Trunk(ids, pass.Start, pass.Attend);
        int seq = hidden.Shape[1], width = hidden.Shape[2];
        // Ops.Embedding gathers rows: the last position's row of the residual stream.
        var last = Ops.Embedding(Ops.Reshape(hidden, seq, width), IndexTensor.FromArray([seq - 1], new Shape(1), Backend));
        return Head(last);
    }

    /// <summary>An empty cache for <see cref="ForwardLast"/> of up to <paramref name="capacity"/> positions (at most the
    /// model's context).</summary>
    public KeyValueCache CreateCache(int capacity)
    {
        if (capacity < 1 || capacity > Config.ContextLength)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"A key/value cache holds 1 to {Config.ContextLength} positions (the model's context), not {capacity}.");
        var (layers, kvHeads, headDim) = CacheShape;
        return new KeyValueCache(layers, kvHeads, headDim, capacity, Backend);
    }

    /// <summary>What the cache keeps of each position: one key and one value of headDim per key/value head, per layer.</summary>
    protected abstract (int Layers, int KvHeads, int HeadDim) CacheShape { get; }

    /// <summary>Attention of layer <paramref name="layer"/>: q [batch, heads, seq, headDim] and k, v [batch, kvHeads, seq,
    /// headDim] to [batch, heads, seq, headDim], as <see cref="Ops.CausalAttention"/> computes it.</summary>
    protected delegate Tensor LayerAttention(int layer, Tensor q, Tensor k, Tensor v);

    private static Tensor CausalAttention(int layer, Tensor q, Tensor k, Tensor v) => Ops.CausalAttention(q, k, v);

    /// <summary>The residual stream [batch, seq, width] after the last block for ids [batch, seq] at positions
    /// <paramref name="start"/> onwards (checked already to lie within the context), each layer attending through
    /// <paramref name="attention"/>.</summary>
    protected abstract Tensor Trunk(IndexTensor ids, int start, LayerAttention attention);

    /// <summary>The final norm and the LM head: hidden [..., width] to logits [..., vocab].</summary>
    protected abstract Tensor Head(Tensor hidden);

    /// <summary>A checkpoint's tensors (this project's names or Hugging Face's) in this model's names and layouts, ready for
    /// <see cref="Module.LoadStateDict"/>; a tensor of the wrong shape is one error naming it.</summary>
    public abstract Dictionary<string, (int[] Shape, float[] Data)> FromCheckpoint(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> tensors);

    /// <summary>The parameters in Hugging Face's names and layouts, as its own implementation of the family loads them.</summary>
    public abstract Dictionary<string, (int[] Shape, float[] Data)> ToHuggingFace();

    /// <summary>Every parameter copied to the host under its own name.</summary>
    protected Dictionary<string, (int[] Shape, float[] Data)> HostStateDict() =>
        StateDict().ToDictionary(kv => kv.Key, kv => (kv.Value.Shape.ToArray(), kv.Value.ToArray()), StringComparer.Ordinal);

    /// <summary>Reads <paramref name="tensors"/> in (see <see cref="FromCheckpoint"/>).</summary>
    public void LoadCheckpoint(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> tensors) => LoadStateDict(FromCheckpoint(tensors));

    /// <summary>The parameters' shapes by name: what <see cref="FromCheckpoint"/> checks a file against.</summary>
    protected Dictionary<string, int[]> ParameterShapes() => StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray());
}
