using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Checks;

namespace HardFocus.Bench.GpuCheck;

/// <summary>The engine's kernel table (<see cref="KernelChecks"/>) on one device, one line per check.</summary>
internal static class KernelParityReport
{
    /// <summary>Prints one line per check and returns whether all passed.</summary>
    public static bool Run(IBackend device, bool quick, TextWriter output)
    {
        var rng = new Rng(2024);
        int failed = 0;
        output.WriteLine($"kernel parity vs cpu (relative tolerance {KernelChecks.Tolerance:0e0})");
        foreach (var check in KernelChecks.All(quick))
        {
            var outcome = KernelChecks.Evaluate(check, device, rng);
            if (!outcome.Pass) failed++;
            output.WriteLine($"{(outcome.Pass ? "PASS" : "FAIL")}  {check.Name,-44} {outcome.Detail}");
        }
        output.WriteLine(failed == 0 ? "parity: all kernels PASS" : $"parity: {failed} FAILED");
        return failed == 0;
    }
}
