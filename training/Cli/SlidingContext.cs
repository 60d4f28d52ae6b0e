using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Models;

namespace HardFocus.Training.Cli;

/// <summary>
/// Next-token logits of a growing text through a <see cref="KeyValueCache"/>: the prompt (its last
/// <paramref name="capacity"/> tokens) is read in one pass, then each token the caller adds costs one position. When
/// the cache is full, the older half of what it holds is dropped and the newer half read again from position 0, as a
/// fresh sequence: one pass over half a window every half window, which is how llama.cpp shifts a full context, rather
/// than a pass over a whole window for every token. For inference only (call it under GradMode.NoGrad()).
/// </summary>
internal sealed class SlidingContext(DecoderModel model, int capacity) : IDisposable
{
    private KeyValueCache _cache = model.CreateCache(capacity);
    // The tokens the cache holds, in order: what is read again when the window slides.
    private readonly List<int> _window = new(capacity);
    private readonly float[] _logits = new float[model.Config.VocabSize];

    /// <summary>The logits [vocab] after <paramref name="prompt"/>, on an empty context. The array is reused by the next call.</summary>
    public float[] Start(IReadOnlyList<int> prompt)
    {
        if (_window.Count > 0) throw new InvalidOperationException("The context has started already.");
        _window.AddRange(prompt.Skip(Math.Max(0, prompt.Count - capacity)));
        return Read(_window);
    }

    /// <summary>The logits [vocab] after one more <paramref name="token"/>. The array is reused by the next call.</summary>
    public float[] Add(int token)
    {
        if (_window.Count == 0) throw new InvalidOperationException("The context has not started: call Start first.");
        _window.Add(token);
        if (_window.Count <= capacity) return Read([token]);
        _window.RemoveRange(0, _window.Count - Math.Max(1, capacity / 2));
        _cache.Dispose();
        _cache = model.CreateCache(capacity);
        return Read(_window);
    }

    private float[] Read(IReadOnlyList<int> tokens)
    {
        using var scope = TensorScope.Begin();
        var ids = IndexTensor.FromArray(tokens.ToArray(), new Shape(1, tokens.Count), model.Backend);
        model.ForwardLast(ids, _cache).CopyTo(_logits);
        return _logits;
    }

    public void Dispose() => _cache.Dispose();
}
