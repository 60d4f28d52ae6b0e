using System.Runtime.CompilerServices;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>Host memory on the pinned object heap, so kernels can take raw pointers without fixing it per call. A slice
/// points into its parent's array.</summary>
public sealed unsafe class CpuBuffer<T> : DeviceBuffer<T> where T : unmanaged
{
    // Held only so that the pinned array lives as long as any buffer pointing into it.
    private readonly T[] _array;

    internal CpuBuffer(IBackend backend, int length) : base(backend, length)
    {
        _array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        Pointer = length == 0 ? null : (T*)Unsafe.AsPointer(ref _array[0]);
    }

    private CpuBuffer(CpuBuffer<T> parent, int offset, int length) : base(parent, length)
    {
        _array = parent._array;
        Pointer = parent.Pointer + offset;
    }

    internal T* Pointer { get; }
    internal Span<T> Span => new(Pointer, Length);

    protected override DeviceBuffer<T> CreateSlice(int offset, int length) => new CpuBuffer<T>(this, offset, length);
}
