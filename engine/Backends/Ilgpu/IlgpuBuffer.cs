using ILGPU;
using ILGPU.Runtime;

namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>Device memory on one ILGPU accelerator. Only <see cref="IlgpuBackend"/> reads or writes it. A slice is a
/// sub-view of its parent's memory and owns none of its own.</summary>
public sealed class IlgpuBuffer<T> : DeviceBuffer<T>, IFreeable where T : unmanaged
{
    private readonly MemoryBuffer1D<T, Stride1D.Dense>? _memory;

    internal IlgpuBuffer(IlgpuBackend backend, Accelerator accelerator, int length) : base(backend, length)
    {
        _memory = accelerator.Allocate1D<T>(length);
        View = _memory.View;
    }

    private IlgpuBuffer(IlgpuBuffer<T> parent, int offset, int length) : base(parent, length) =>
        View = parent.View.SubView(offset, length);

    internal ArrayView<T> View { get; }

    protected override DeviceBuffer<T> CreateSlice(int offset, int length) => new IlgpuBuffer<T>(this, offset, length);

    // Only buffers from the pool are freed, and slices never go there.
    void IFreeable.Free() => _memory?.Dispose();
}

/// <summary>Lets the pool free device memory without knowing the element type.</summary>
internal interface IFreeable
{
    void Free();
}
