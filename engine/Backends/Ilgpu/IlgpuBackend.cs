using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>
/// Runs every kernel on an ILGPU accelerator (CUDA, OpenCL, or ILGPU's CPU emulator for tests). Kernels are static
/// methods in the partial files beside this one, one family per file; each is compiled once, on first use, and the
/// launcher cached. All launches go to the accelerator's default stream, so they run in issue order and a pooled
/// buffer can be handed out again as soon as it is recycled. Only host transfers (and trimming the pool) wait for the
/// device; no kernel call reads anything back. On CUDA, Gemm goes through cuBLAS on that same stream.
/// </summary>
public sealed partial class IlgpuBackend : IBackend
{
    private readonly Context _context;
    private readonly bool _ownsContext;
    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private readonly BufferPool _pool = new();
    private readonly int _groupSize, _strideGroups, _gemmSide;
    private readonly CuBlasGemm? _cuBlas;
    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="accelerator"/> (and, unless told otherwise, of its context): both are
    /// disposed with the backend. The context must have been built with <c>EnableAlgorithms()</c> (kernels use XMath).
    /// Throws <see cref="ArgumentException"/> when <paramref name="options"/> asks for TF32 on a device that is not CUDA.</summary>
    public IlgpuBackend(Accelerator accelerator, bool ownsContext = true, IlgpuBackendOptions? options = null)
    {
        _accelerator = accelerator;
        _context = accelerator.Context;
        _ownsContext = ownsContext;
        _stream = accelerator.DefaultStream;
        Name = IlgpuDevices.Describe(accelerator);
        options ??= new IlgpuBackendOptions();
        if (options.Tf32 && accelerator is not CudaAccelerator)
        {
            DisposeDevice();
            throw new ArgumentException($"TF32 needs a CUDA device; {Name} is not one.", nameof(options));
        }
        if (options.CuBlas && accelerator is CudaAccelerator cuda)
            _cuBlas = CuBlasGemm.TryCreate(cuda, (CudaStream)_stream, options.Tf32);
        Tf32 = options.Tf32 && _cuBlas is not null;
        // Power-of-two groups keep the shared-memory tree reductions simple; 256 suits row kernels on GPUs, and the
        // CPU emulator allows only 16.
        int maxGroup = Math.Min(256, accelerator.MaxNumThreadsPerGroup);
        _groupSize = 1 << (31 - int.LeadingZeroCount(maxGroup));
        // The GEMM kernel's square groups: 16 x 16 threads on a GPU, 4 x 4 on the emulator.
        _gemmSide = 1 << ((31 - int.LeadingZeroCount(maxGroup)) / 2);
        // Grid-stride kernels launch only as many groups as the device keeps resident at once.
        _strideGroups = Math.Max(1, accelerator.NumMultiprocessors * accelerator.MaxNumThreadsPerMultiprocessor / _groupSize);
    }

    /// <summary>A backend on device <paramref name="index"/> of <paramref name="kind"/>: "cuda", "opencl" or "ilgpu-cpu" (the
    /// emulator, for tests). Throws <see cref="InvalidOperationException"/> when no such device is present.</summary>
    public static IlgpuBackend Create(string kind, int index = 0, IlgpuBackendOptions? options = null) =>
        new(IlgpuDevices.CreateAccelerator(kind, index), options: options);

    public string Name { get; }
    /// <summary>Whether Gemm runs through cuBLAS (a CUDA device whose cuBLAS loaded, unless the options declined it).</summary>
    public bool UsesCuBlas => _cuBlas is not null;
    /// <summary>Whether cuBLAS multiplies fp32 matrices on TF32 tensor cores.</summary>
    public bool Tf32 { get; }
    public BufferPoolStats PoolStats => _pool.Stats;

    // ---- memory ---------------------------------------------------------------------------------------------------

    public DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged =>
        _pool.Rent(length, n => OutOfMemoryRetry.Allocate(() => new IlgpuBuffer<T>(this, _accelerator, n), TrimPool,
            (long)n * Unsafe.SizeOf<T>(), Name));

    public void Recycle<T>(DeviceBuffer<T> buffer) where T : unmanaged
    {
        if (_disposed) ((IFreeable)Own(buffer)).Free();
        else _pool.Return(Own(buffer));
    }

    public void TrimPool()
    {
        // Pending kernels may still read idle buffers.
        _stream.Synchronize();
        _pool.Trim(buffer => ((IFreeable)buffer).Free());
    }

    public void Upload<T>(ReadOnlySpan<T> source, DeviceBuffer<T> destination) where T : unmanaged
    {
        // Synchronous, and queued behind earlier kernels that may still read the destination.
        if (source.Length > 0) V(destination).SubView(0, source.Length).CopyFromCPU(_stream, source);
    }

    public void Download<T>(DeviceBuffer<T> source, Span<T> destination) where T : unmanaged
    {
        _stream.Synchronize();
        if (destination.Length > 0) V(source).SubView(0, destination.Length).CopyToCPU(_stream, destination);
    }

    public void Fill(DeviceBuffer<float> destination, float value, int count)
    {
        if (count > 0) FillK(Stride(count), V(destination), value, count);
    }

    public void Copy(DeviceBuffer<float> source, DeviceBuffer<float> destination, int count)
    {
        if (count > 0) V(source).SubView(0, count).CopyTo(_stream, V(destination).SubView(0, count));
    }

    public void Dispose()
    {
        if (_disposed) return;
        TrimPool();
        _disposed = true;
        _cuBlas?.Dispose();
        DisposeDevice();
    }

    private void DisposeDevice()
    {
        _accelerator.Dispose();
        if (_ownsContext) _context.Dispose();
    }

    // ---- launch helpers --------------------------------------------------------------------------------------------

    /// <summary>A grid-stride launch over <paramref name="count"/> elements.</summary>
    private KernelConfig Stride(int count) => new(StrideGroups(count), _groupSize);

    private int StrideGroups(int count) => Math.Clamp((int)(((long)count + _groupSize - 1) / _groupSize), 1, _strideGroups);

    /// <summary><paramref name="groups"/> groups (one per row or per problem) with <paramref name="sharedFloats"/> floats of
    /// shared memory each.</summary>
    private KernelConfig Groups(int groups, int sharedFloats)
    {
        if ((long)sharedFloats * sizeof(float) > _accelerator.MaxSharedMemoryPerGroup)
            throw new NotSupportedException($"This kernel needs {sharedFloats * 4L} bytes of shared memory per group; {Name} has {_accelerator.MaxSharedMemoryPerGroup}.");
        return new KernelConfig(new Index1D(groups), new Index1D(_groupSize), SharedMemoryConfig.RequestDynamic<float>(sharedFloats));
    }

    /// <summary>Column-reduction kernels give each group this many adjacent columns, so a warp reads consecutive floats; at
    /// least four threads share each column's rows (which also exercises that split on the 16-thread emulator).</summary>
    private int ColumnLanes => Math.Clamp(_groupSize / 4, 1, 32);

    private KernelConfig Columns(int cols) => Groups((cols + ColumnLanes - 1) / ColumnLanes, _groupSize);

    private IlgpuBuffer<T> Own<T>(DeviceBuffer<T> buffer) where T : unmanaged =>
        buffer is IlgpuBuffer<T> own && ReferenceEquals(own.Backend, this)
            ? own
            : throw new ArgumentException($"A {buffer.Backend.Name} buffer was passed to the {Name} backend.");

    private ArrayView<T> V<T>(DeviceBuffer<T> buffer) where T : unmanaged => Own(buffer).View;

    // ---- in-kernel helpers -----------------------------------------------------------------------------------------

    /// <summary>Sum over a 1-D group through <paramref name="scratch"/> (one float per thread); every thread gets the result.
    /// Every thread of the group must call it.</summary>
    private static float GroupSum(ArrayView<float> scratch, float value)
    {
        int t = Group.IdxX;
        scratch[t] = value;
        Group.Barrier();
        for (int width = Group.DimX / 2; width > 0; width >>= 1)
        {
            if (t < width) scratch[t] += scratch[t + width];
            Group.Barrier();
        }
        float result = scratch[0];
        Group.Barrier();
        return result;
    }

    private static float GroupMax(ArrayView<float> scratch, float value)
    {
        int t = Group.IdxX;
        scratch[t] = value;
        Group.Barrier();
        for (int width = Group.DimX / 2; width > 0; width >>= 1)
        {
            if (t < width) scratch[t] = XMath.Max(scratch[t], scratch[t + width]);
            Group.Barrier();
        }
        float result = scratch[0];
        Group.Barrier();
        return result;
    }

    /// <summary>For groups laid out as (row lane, column lane) with <paramref name="lanes"/> column lanes: sums the values of
    /// all row lanes of each column lane; every thread gets its column's total.</summary>
    private static float ColumnTotal(ArrayView<float> scratch, float value, int lanes)
    {
        int t = Group.IdxX;
        scratch[t] = value;
        Group.Barrier();
        for (int width = Group.DimX / lanes / 2; width > 0; width >>= 1)
        {
            if (t / lanes < width) scratch[t] += scratch[t + width * lanes];
            Group.Barrier();
        }
        float result = scratch[t % lanes];
        Group.Barrier();
        return result;
    }
}
