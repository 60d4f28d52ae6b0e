using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>One device ILGPU can run kernels on. <see cref="Kind"/> is what <see cref="IlgpuBackend.Create"/> takes.</summary>
public sealed record IlgpuDeviceInfo(string Kind, int Index, string Name, long MemoryBytes, bool IsGpu)
{
    // The emulator reports long.MaxValue bytes; only a GPU's memory means anything.
    public override string ToString() => IsGpu ? $"{Kind}:{Index} {Name} ({MemoryBytes / (1024.0 * 1024 * 1024):0.#} GiB)" : $"{Kind}:{Index} {Name}, not a GPU";
}

/// <summary>What ILGPU finds on this machine, and which device "auto" picks.</summary>
public static class IlgpuDevices
{
    public const string Cuda = "cuda", OpenCL = "opencl", Cpu = "ilgpu-cpu";

    static IlgpuDevices() => IlgpuDriverLibraries.Register();

    /// <summary>Every CUDA device, every OpenCL device ILGPU accepts (OpenCL 2.0+ with generic address space), and the
    /// CPU emulator.</summary>
    public static IReadOnlyList<IlgpuDeviceInfo> List()
    {
        using var context = Context.Create(b => b.Cuda().OpenCL().CPU());
        var list = new List<IlgpuDeviceInfo>();
        Add(list, Cuda, Devices(context.GetCudaDevices()), _ => true);
        Add(list, OpenCL, Devices(context.GetCLDevices()), IsGpu);
        // ILGPU offers several emulated CPU devices; the backend only ever uses the first.
        Add(list, Cpu, Devices(context.GetCPUDevices()).Take(1).ToList(), _ => false);
        return list;
    }

    /// <summary>"cuda" when a CUDA device is present, else "opencl" for an OpenCL GPU ILGPU accepts, else null: the caller
    /// should then use the SIMD CPU backend, which is far faster than the emulator.</summary>
    public static string? AutoKind()
    {
        var devices = List();
        if (devices.Any(d => d.Kind == Cuda)) return Cuda;
        return devices.Any(d => d.Kind == OpenCL && d.IsGpu) ? OpenCL : null;
    }

    /// <summary>An accelerator on device <paramref name="index"/> of <paramref name="kind"/> (for OpenCL, GPUs first), in a
    /// fresh context with the algorithms library enabled.</summary>
    internal static Accelerator CreateAccelerator(string kind, int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var context = kind switch
        {
            Cuda => Context.Create(b => b.Cuda().EnableAlgorithms()),
            OpenCL => Context.Create(b => b.OpenCL().EnableAlgorithms()),
            Cpu => Context.Create(b => b.CPU().EnableAlgorithms()),
            _ => throw new ArgumentException($"Unknown ILGPU device kind '{kind}'; use {Cuda}, {OpenCL} or {Cpu}.", nameof(kind)),
        };
        try
        {
            var devices = kind switch
            {
                Cuda => Devices(context.GetCudaDevices()).Cast<Device>().ToList(),
                OpenCL => Devices(context.GetCLDevices()).OrderBy(d => IsGpu(d) ? 0 : 1).Cast<Device>().ToList(),
                _ => Devices(context.GetCPUDevices()).Cast<Device>().ToList(),
            };
            if (devices.Count == 0)
                throw new InvalidOperationException(kind switch
                {
                    Cuda => "no CUDA device found",
                    OpenCL => "no OpenCL device that ILGPU supports found (it needs OpenCL 2.0+ with generic address space)",
                    _ => "no ILGPU CPU device found",
                });
            if (index >= devices.Count)
                throw new InvalidOperationException($"device {kind}:{index} was asked for, but only {devices.Count} {kind} device(s) are present");
            return devices[index].CreateAccelerator(context);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>A backend name such as "cuda:0 NVIDIA H200", "opencl:1 gfx1100" or "ilgpu-cpu".</summary>
    internal static string Describe(Accelerator accelerator) => accelerator.Device switch
    {
        CudaDevice d => $"{Cuda}:{Devices(accelerator.Context.GetCudaDevices()).IndexOf(d)} {d.Name}",
        CLDevice d => $"{OpenCL}:{Devices(accelerator.Context.GetCLDevices()).IndexOf(d)} {d.Name}",
        _ => Cpu,
    };

    private static bool IsGpu(CLDevice device) => device.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU;

    private static List<T> Devices<T>(Context.DeviceCollection<T> collection) where T : Device
    {
        var list = new List<T>(collection.Count);
        foreach (var device in collection) list.Add(device);
        return list;
    }

    private static void Add<T>(List<IlgpuDeviceInfo> list, string kind, List<T> devices, Func<T, bool> isGpu) where T : Device
    {
        for (int i = 0; i < devices.Count; i++) list.Add(new IlgpuDeviceInfo(kind, i, devices[i].Name, devices[i].MemorySize, isGpu(devices[i])));
    }
}
