using HardFocus.Engine;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Training.Distributed;

/// <summary>
/// Sums every parameter's gradient over the ranks: the flat gradient buffer of the parameters' <see cref="ParameterArena"/>
/// is summed in buckets of at most <see cref="BucketFloats"/> values (one collective per bucket, not one per tensor, and no
/// message past MPI's 2^31-element count), where it lies on the CPU, and on a device after one transfer to the host and
/// before one back. A sum, not a mean:
/// each rank backpropagates its samples with their weights over the global pool, so the sum is exactly the gradient a
/// single process would compute.
/// </summary>
public sealed class GradientSync
{
    /// <summary>16 MiB of floats per collective: large enough to run at the interconnect's bandwidth.</summary>
    public const int DefaultBucketFloats = 4 << 20;

    private readonly ParameterArena _arena;
    private readonly ICommunicator _world;
    // The host copy of a device's gradients; empty on the CPU, whose buffers are host memory.
    private readonly float[] _flat;

    /// <param name="parameters">Gathered into an arena here if no optimizer has done it yet.</param>
    public GradientSync(IReadOnlyList<Tensor> parameters, ICommunicator world, int bucketFloats = DefaultBucketFloats)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketFloats);
        _arena = ParameterArena.Of(parameters);
        _world = world;
        BucketFloats = bucketFloats;
        _flat = _arena.Backend is CpuBackend ? [] : new float[_arena.Length];
    }

    public int BucketFloats { get; }

    /// <summary>Collectives one sum takes.</summary>
    public int Buckets => (_arena.Length + BucketFloats - 1) / BucketFloats;

    public void SumAcrossRanks()
    {
        // A parameter no graph reached has no gradient on any rank (every rank runs the same model): its zeros add zeros.
        var gradients = _arena.Gradients();
        if (_arena.Backend is CpuBackend cpu)
        {
            Sum(cpu.HostMemory(gradients), _world, BucketFloats);
            return;
        }
        _arena.Backend.Download(gradients, _flat);
        Sum(_flat, _world, BucketFloats);
        _arena.Backend.Upload<float>(_flat, gradients);
    }

    /// <summary>Sums <paramref name="values"/> over the ranks in place, one collective per bucket.</summary>
    public static void Sum(Span<float> values, ICommunicator world, int bucketFloats)
    {
        for (int start = 0; start < values.Length; start += bucketFloats)
            world.SumInPlace(values.Slice(start, Math.Min(bucketFloats, values.Length - start)));
    }
}
