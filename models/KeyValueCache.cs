using HardFocus.Engine;
using HardFocus.Engine.Backends;

namespace HardFocus.Models;

/// <summary>
/// The keys and values every attention layer computed for the tokens a decoder has read so far, so that one more token
/// costs its own projections and one attention row per layer instead of a pass over the whole sequence. The first pass
/// (the prompt) runs the ordinary causal attention and keeps its keys and values; every later pass reads exactly one
/// token, whose queries attend over all that is kept. One sequence (batch 1), at most <see cref="Capacity"/> positions:
/// a full cache refuses more, and what to drop is the caller's choice. Written in place, so for inference only
/// (<see cref="Engine.Autograd.GradMode.NoGrad"/>). Made by <see cref="DecoderModel.CreateCache"/>.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    // Per layer, [kvHeads * capacity, headDim]: head h's key (or value) at position t is row h * capacity + t. Rows at
    // Length and beyond hold zeros, so adding a new token's rows into them writes them exactly (Ops.AccumulateRows).
    private readonly Tensor[] _keys, _values;
    private readonly int _kvHeads, _headDim;

    internal KeyValueCache(int layers, int kvHeads, int headDim, int capacity, IBackend backend)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _kvHeads = kvHeads;
        _headDim = headDim;
        Capacity = capacity;
        var shape = new Shape(kvHeads * capacity, headDim);
        var zeros = new float[shape.Size];
        _keys = new Tensor[layers];
        _values = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            _keys[i] = Tensor.Persistent(zeros, shape, backend);
            _values[i] = Tensor.Persistent(zeros, shape, backend);
        }
    }

    public int Capacity { get; }

    /// <summary>Positions held: the position the next token takes.</summary>
    public int Length { get; private set; }

    /// <summary>Claims the positions of the next pass's <paramref name="count"/> tokens, whose layers then call
    /// <see cref="Pass.Attend"/>. The index tensors belong to the current scope.</summary>
    internal Pass Begin(int count)
    {
        if (Length > 0 && count != 1)
            throw new InvalidOperationException($"After the first pass the key/value cache takes one token at a time, got {count}.");
        if (count < 1 || Length + count > Capacity)
            throw new InvalidOperationException($"The key/value cache holds {Length} of {Capacity} positions: {count} more do not fit.");
        var backend = _keys[0].Backend;
        int start = Length, length = start + count;
        // Where the pass's rows go ([head, new position] order, as k and v lay them out) and, after the first pass,
        // where every kept row is read from ([head, position] order: keys and values as batched matrices per head).
        var writeAt = new int[_kvHeads * count];
        for (int h = 0; h < _kvHeads; h++)
            for (int t = 0; t < count; t++) writeAt[h * count + t] = h * Capacity + start + t;
        IndexTensor? readAt = null;
        if (start > 0)
        {
            var rows = new int[_kvHeads * length];
            for (int h = 0; h < _kvHeads; h++)
                for (int t = 0; t < length; t++) rows[h * length + t] = h * Capacity + t;
            readAt = IndexTensor.FromArray(rows, new Shape(_kvHeads, length), backend);
        }
        Length = length;
        return new Pass(this, start, IndexTensor.FromArray(writeAt, new Shape(writeAt.Length), backend), readAt);
    }

    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values)) t.Dispose();
    }

    /// <summary>One forward pass's positions [Start, Start + count).</summary>
    internal sealed class Pass(KeyValueCache cache, int start, IndexTensor writeAt, IndexTensor? readAt)
    {
        public int Start => start;

        /// <summary>Layer <paramref name="layer"/>'s attention: q [1, heads, count, headDim] and k, v [1, kvHeads, count,
        /// headDim] (rotated already where the model rotates) in, [1, heads, count, headDim] out, as
        /// <see cref="Ops.CausalAttention"/> gives.</summary>
        public Tensor Attend(int layer, Tensor q, Tensor k, Tensor v)
        {
            Ops.AccumulateRows(cache._keys[layer], writeAt, k);
            Ops.AccumulateRows(cache._values[layer], writeAt, v);
            if (readAt == null) return Ops.CausalAttention(q, k, v);

            // One new query per head sees every kept position, so no mask is needed. Query head h reads key/value head
            // h / group (CausalAttention's grouping), so the heads as [kvHeads, group, headDim] meet their shared keys
            // in one batched product, with no copy of the keys per query head.
            int kvHeads = cache._kvHeads, headDim = cache._headDim, group = q.Shape[1] / kvHeads;
            var queries = Ops.Reshape(q, kvHeads, group, headDim);
            // Ops.Embedding gathers rows: the kept keys and values as [kvHeads, length, headDim].
            var keys = Ops.Embedding(cache._keys[layer], readAt);
            var values = Ops.Embedding(cache._values[layer], readAt);
            var scores = Ops.Scale(Ops.MatMul(queries, keys, transposeB: true), 1f / MathF.Sqrt(headDim));
            return Ops.Reshape(Ops.MatMul(Ops.Softmax(scores), values), q.Shape.ToArray());
        }
    }
}
