namespace HardFocus.Engine.Backends.Cpu;

/// <summary>
/// The SIMD CPU backend: pinned host buffers from an exact-size pool, kernels written with TensorPrimitives and
/// Vector512/256 intrinsics, work split over cores with <see cref="CpuParallel"/>. Kernels live in the partial files
/// beside this one, one family per file.
/// </summary>
public sealed unsafe partial class CpuBackend : IBackend
{
    /// <summary>The process-wide instance: CPU buffers are interchangeable, so one pool serves everyone.</summary>
    public static CpuBackend Shared { get; } = new();

    /// <summary>How many threads CPU kernels split work over; every core by default. Processes that share a machine
    /// (data-parallel ranks) each take their share, so that they do not fight over cores.</summary>
    public static int Threads
    {
        get => CpuParallel.Workers;
        set => CpuParallel.Workers = value;
    }

    private readonly BufferPool _pool = new();
    private readonly IBackend _bufferOwner;

    public CpuBackend() : this(null) { }

    /// <param name="bufferOwner">The backend that this one's buffers name as theirs (and so their tensors' backend), when
    /// this one runs behind a wrapper that must see every kernel call, such as <see cref="ProfilingBackend"/>; this
    /// backend itself when null.</param>
    public CpuBackend(IBackend? bufferOwner) => _bufferOwner = bufferOwner ?? this;

    public string Name => "cpu";
    public BufferPoolStats PoolStats => _pool.Stats;

    public DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged =>
        _pool.Rent(length, n => new CpuBuffer<T>(_bufferOwner, n));

    public void Recycle<T>(DeviceBuffer<T> buffer) where T : unmanaged => _pool.Return(Own(buffer));

    /// <summary>Drops every idle buffer. They are pinned arrays: dropping them makes them garbage, which the runtime's
    /// next full collection returns. No collection is forced here: a forced compacting one costs far more than trimming
    /// itself, and trimming runs whenever an optimizer gathers its parameters (in tests, hundreds of times).</summary>
    public void TrimPool() => _pool.Trim(_ => { });

    public void Upload<T>(ReadOnlySpan<T> source, DeviceBuffer<T> destination) where T : unmanaged =>
        source.CopyTo(Own(destination).Span);

    public void Download<T>(DeviceBuffer<T> source, Span<T> destination) where T : unmanaged =>
        Own(source).Span[..destination.Length].CopyTo(destination);

    // Fill and Copy split large counts over the cores like the other element-wise kernels: every step zeroes each
    // embedding table's gradient before the scatter adds into it (GPT-2's token embedding is 38M floats).
    public void Fill(DeviceBuffer<float> destination, float value, int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, destination.Length);
        float* y = P(destination);
        CpuParallel.For(count, ElementGrain, (s, e) => new Span<float>(y + s, e - s).Fill(value));
    }

    public void Copy(DeviceBuffer<float> source, DeviceBuffer<float> destination, int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Math.Min(source.Length, destination.Length));
        float* x = P(source), y = P(destination);
        CpuParallel.For(count, ElementGrain, (s, e) => new ReadOnlySpan<float>(x + s, e - s).CopyTo(new Span<float>(y + s, e - s)));
    }

    /// <summary>The host memory of a CPU buffer, for handing it to a host library where it lies (an MPI sum) instead of
    /// copying it out and back.</summary>
    public Span<float> HostMemory(DeviceBuffer<float> buffer) => Own(buffer).Span;

    // A disposed backend's buffers are garbage with it: no collection is forced for them.
    public void Dispose() => _pool.Trim(_ => { });

    /// <summary>Checks that a buffer was made here: mixing backends is a programming error worth a clear message.</summary>
    private CpuBuffer<T> Own<T>(DeviceBuffer<T> buffer) where T : unmanaged =>
        buffer as CpuBuffer<T> ?? throw new ArgumentException($"A {buffer.Backend.Name} buffer was passed to the cpu backend.");

    private float* P(DeviceBuffer<float> buffer) => Own(buffer).Pointer;
    private int* P(DeviceBuffer<int> buffer) => Own(buffer).Pointer;
}
