using HardFocus.Engine;

namespace HardFocus.Training.Distributed;

/// <summary>
/// Sums every parameter's gradient over the ranks: the gradients are copied into one flat host buffer, summed in
/// buckets of at most <see cref="BucketFloats"/> values (one collective per bucket, not one per tensor, and no message
/// past MPI's 2^31-element count), then copied back. A sum, not a mean: each rank backpropagates its samples with
/// their weights over the global pool, so the sum is exactly the gradient a single process would compute.
/// </summary>
public sealed class GradientSync
{
    /// <summary>16 MiB of floats per collective: large enough to run at the interconnect's bandwidth.</summary>
    public const int DefaultBucketFloats = 4 << 20;

    private readonly IReadOnlyList<Tensor> _parameters;
    private readonly ICommunicator _world;
    private readonly float[] _flat;

    public GradientSync(IReadOnlyList<Tensor> parameters, ICommunicator world, int bucketFloats = DefaultBucketFloats)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketFloats);
        _parameters = parameters;
        _world = world;
        BucketFloats = bucketFloats;
        _flat = new float[parameters.Sum(p => (long)p.Length) is var n && n <= Array.MaxLength ? (int)n
            : throw new NotSupportedException($"{n:N0} parameters do not fit one flat gradient buffer.")];
    }

    public int BucketFloats { get; }

    /// <summary>Collectives one sum takes.</summary>
    public int Buckets => (_flat.Length + BucketFloats - 1) / BucketFloats;

    public void SumAcrossRanks()
    {
        // A parameter no graph reached has no gradient on any rank (every rank runs the same model), so it adds zeros.
        int offset = 0;
        foreach (var p in _parameters)
        {
            var slot = _flat.AsSpan(offset, p.Length);
            if (p.Grad is { } g) g.CopyTo(slot);
            else slot.Clear();
            offset += p.Length;
        }
        Sum(_flat, _world, BucketFloats);
        offset = 0;
        foreach (var p in _parameters)
        {
            p.Grad?.CopyFrom(_flat.AsSpan(offset, p.Length));
            offset += p.Length;
        }
    }

    /// <summary>Sums <paramref name="values"/> over the ranks in place, one collective per bucket.</summary>
    public static void Sum(Span<float> values, ICommunicator world, int bucketFloats)
    {
        for (int start = 0; start < values.Length; start += bucketFloats)
            world.SumInPlace(values.Slice(start, Math.Min(bucketFloats, values.Length - start)));
    }
}
