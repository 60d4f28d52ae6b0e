using System.Runtime.CompilerServices;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>Host memory on the pinned object heap, so kernels can take raw pointers without fixing it per call.</summary>
public sealed unsafe class CpuBuffer<T> : DeviceBuffer<T> where T : unmanaged
{
    internal CpuBuffer(IBackend backend, int length) : base(backend, length)
    {
        Array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        Pointer = length == 0 ? null : (T*)Unsafe.AsPointer(ref Array[0]);
    }

    internal T[] Array { get; }
    internal T* Pointer { get; }
    internal Span<T> Span => Array;
}
