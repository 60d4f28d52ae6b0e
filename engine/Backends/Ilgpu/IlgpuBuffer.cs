using ILGPU;
using ILGPU.Runtime;

namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>Device memory on one ILGPU accelerator. Only <see cref="IlgpuBackend"/> reads or writes it.</summary>
public sealed class IlgpuBuffer<T> : DeviceBuffer<T>, IFreeable where T : unmanaged
{
    private readonly MemoryBuffer1D<T, Stride1D.Dense> _memory;

    internal IlgpuBuffer(IlgpuBackend backend, Accelerator accelerator, int length) : base(backend, length) =>
        _memory = accelerator.Allocate1D<T>(length);

    internal ArrayView<T> View => _memory.View;

    void IFreeable.Free() => _memory.Dispose();
}

/// <summary>Lets the pool free device memory without knowing the element type.</summary>
internal interface IFreeable
{
    void Free();
}
