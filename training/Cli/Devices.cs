using System.CommandLine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.Backends.Ilgpu;

namespace HardFocus.Training.Cli;

/// <summary>Maps a --device value to a backend.</summary>
public static class Devices
{
    public static readonly string[] Names = ["auto", "cpu", IlgpuDevices.Cuda, IlgpuDevices.OpenCL, IlgpuDevices.Cpu];

    /// <summary>The --tf32 flag of every command that takes --device.</summary>
    public static Option<bool> Tf32Option() => new("--tf32")
    {
        Description = "Let cuBLAS multiply fp32 matrices on TF32 tensor cores (CUDA only): much faster, but the factors of " +
            "each product are rounded to about 3 significant digits, so numbers drift from --device cpu. Off by default.",
    };

    /// <summary>auto: CUDA, then an OpenCL GPU ILGPU accepts, else the SIMD CPU backend. ilgpu-cpu is ILGPU's emulator,
    /// for checking kernels, not for speed. <paramref name="gpuIndex"/> picks among several GPUs of the kind: a
    /// data-parallel rank passes its rank on the machine, so that each process has a GPU of its own.
    /// <paramref name="tf32"/> needs the device to be CUDA.</summary>
    public static IBackend Resolve(string name, int gpuIndex = 0, bool tf32 = false)
    {
        string? kind = name switch
        {
            "cpu" => null,
            "auto" => IlgpuDevices.AutoKind(),
            IlgpuDevices.Cuda or IlgpuDevices.OpenCL or IlgpuDevices.Cpu => name,
            _ => throw new UserError($"Unknown device '{name}': use {string.Join(", ", Names)}."),
        };
        if (tf32 && kind != IlgpuDevices.Cuda)
            throw new UserError($"--tf32 needs a CUDA device, but --device {name} {(name == "auto" ? $"picks {kind ?? "cpu"} here" : "is not one")}.");
        if (kind is null) return CpuBackend.Shared;
        // The emulator has one device, whatever the rank.
        return Create(kind, kind == IlgpuDevices.Cpu ? 0 : gpuIndex, name, new IlgpuBackendOptions { Tf32 = tf32 });
    }

    private static IlgpuBackend Create(string kind, int index, string asked, IlgpuBackendOptions options)
    {
        try { return IlgpuBackend.Create(kind, index, options); }
        catch (InvalidOperationException e) { throw new UserError($"--device {asked}: {e.Message}."); }
    }

    public static IEnumerable<(string Name, string Description, string UsedFor)> List()
    {
        string auto = IlgpuDevices.AutoKind() ?? "cpu";
        string simd = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512"
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2" : "scalar";
        yield return ("cpu", $"SIMD CPU backend, {Environment.ProcessorCount} cores, {simd}", auto == "cpu" ? "--device cpu and --device auto" : "--device cpu");
        foreach (var device in IlgpuDevices.List())
        {
            string usedFor = device.Kind == IlgpuDevices.Cpu ? "--device ilgpu-cpu (kernel tests; an emulator, slow)"
                : device.Kind == auto && device.Index == 0 ? $"--device {device.Kind} and --device auto" : $"--device {device.Kind}";
            yield return (device.Kind, device.ToString(), usedFor);
        }
    }
}
