using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.Backends.Ilgpu;

namespace HardFocus.Training.Cli;

/// <summary>Maps a --device value to a backend.</summary>
public static class Devices
{
    public static readonly string[] Names = ["auto", "cpu", IlgpuDevices.Cuda, IlgpuDevices.OpenCL, IlgpuDevices.Cpu];

    /// <summary>auto: CUDA, then an OpenCL GPU ILGPU accepts, else the SIMD CPU backend. ilgpu-cpu is ILGPU's emulator,
    /// for checking kernels, not for speed. <paramref name="gpuIndex"/> picks among several GPUs of the kind: a
    /// data-parallel rank passes its rank on the machine, so that each process has a GPU of its own.</summary>
    public static IBackend Resolve(string name, int gpuIndex = 0)
    {
        switch (name)
        {
            case "cpu":
                return CpuBackend.Shared;
            case "auto":
                return IlgpuDevices.AutoKind() is { } kind ? Create(kind, gpuIndex, name) : CpuBackend.Shared;
            case IlgpuDevices.Cuda or IlgpuDevices.OpenCL:
                return Create(name, gpuIndex, name);
            case IlgpuDevices.Cpu:
                return Create(name, 0, name);
            default:
                throw new UserError($"Unknown device '{name}': use {string.Join(", ", Names)}.");
        }
    }

    private static IlgpuBackend Create(string kind, int index, string asked)
    {
        try { return IlgpuBackend.Create(kind, index); }
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
