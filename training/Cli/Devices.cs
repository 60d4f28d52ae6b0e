using HardFocus.Engine.Backends;
using HardFocus.Engine;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Training.Cli;

/// <summary>Maps a --device value to a backend.</summary>
public static class Devices
{
    public static readonly string[] Names = ["auto", "cpu"];

    public static IBackend Resolve(string name) => name switch
    {
        "auto" or "cpu" => CpuBackend.Shared,
        _ => throw new UserError($"Unknown device '{name}': use {string.Join(", ", Names)}."),
    };

    public static IEnumerable<(string Name, string Description, string UsedFor)> List()
    {
        yield return ("cpu", $"SIMD CPU backend, {Environment.ProcessorCount} cores, " +
            (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512" : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2" : "scalar"),
            "--device cpu, and --device auto when no GPU is present");
    }
}
