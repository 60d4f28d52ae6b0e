using System.Text.Json.Serialization;
using HardFocus.Engine;

namespace HardFocus.Training.Data;

/// <summary>Where a <see cref="BatchLoader"/> is: the epoch and how many of its shuffled samples were served.</summary>
public readonly record struct LoaderState([property: JsonRequired] int Epoch, [property: JsonRequired] int Position);

/// <summary>
/// Shuffled fixed-size batches, reproducible from the seed alone: each epoch's order is derived from (seed, epoch), so
/// a checkpoint only has to store <see cref="State"/> to resume the exact same stream of batches.
/// </summary>
public sealed class BatchLoader
{
    private readonly IReadOnlyList<Sample> _samples;
    private readonly int _batchSize;
    private readonly ulong _seed;
    private readonly int[] _order;
    private int _orderEpoch = -1;
    private LoaderState _state;

    public BatchLoader(IReadOnlyList<Sample> samples, int batchSize, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (batchSize > samples.Count)
            throw new ArgumentException($"The batch size {batchSize} exceeds the {samples.Count} samples available.", nameof(batchSize));
        _samples = samples;
        _batchSize = batchSize;
        _seed = seed;
        _order = new int[samples.Count];
    }

    /// <summary>Full batches per epoch; the remainder of each shuffled epoch is not served.</summary>
    public int BatchesPerEpoch => _samples.Count / _batchSize;

    public LoaderState State
    {
        get => _state;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value.Epoch, nameof(value));
            if (value.Position < 0 || value.Position > _samples.Count)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"The position must lie in [0, {_samples.Count}].");
            _state = value;
        }
    }

    public Sample[] Next()
    {
        if (_state.Position + _batchSize > _samples.Count) _state = new LoaderState(_state.Epoch + 1, 0);
        var order = Order(_state.Epoch);
        var batch = new Sample[_batchSize];
        for (int i = 0; i < _batchSize; i++) batch[i] = _samples[order[_state.Position + i]];
        _state = _state with { Position = _state.Position + _batchSize };
        return batch;
    }

    private int[] Order(int epoch)
    {
        if (_orderEpoch == epoch) return _order;
        var rng = new Rng(_seed ^ Rng.Mix((ulong)epoch + 1));
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        for (int i = _order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
        _orderEpoch = epoch;
        return _order;
    }
}
