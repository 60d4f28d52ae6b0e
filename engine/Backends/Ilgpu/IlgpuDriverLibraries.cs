using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>
/// ILGPU opens the drivers as "cuda" and "OpenCL", which .NET looks for as libcuda.so and libOpenCL.so. Those unversioned
/// names come only with development packages; a machine with just the driver (or just Debian's ocl-icd-libopencl1) has
/// libcuda.so.1 and libOpenCL.so.1, and ILGPU would then report no device at all. This falls back to the versioned names.
/// </summary>
public static class IlgpuDriverLibraries
{
    private static int _registered;

    /// <summary>Idempotent; <see cref="IlgpuDevices"/> calls it before it opens any ILGPU context.</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0) AssemblyLoadContext.Default.ResolvingUnmanagedDll += Resolve;
    }

    private static IntPtr Resolve(System.Reflection.Assembly assembly, string name)
    {
        if (assembly.GetName().Name != "ILGPU") return IntPtr.Zero;
        string? versioned = name switch { "cuda" => "libcuda.so.1", "OpenCL" => "libOpenCL.so.1", _ => null };
        return versioned != null && NativeLibrary.TryLoad(versioned, out var handle) ? handle : IntPtr.Zero;
    }
}
