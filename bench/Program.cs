using BenchmarkDotNet.Running;
using HardFocus.Bench.GpuCheck;

namespace HardFocus.Bench;

public static class Program
{
    public static int Main(string[] args)
    {
        // gpu-check is a plain console check, not a BenchmarkDotNet job: it has to run from a self-contained publish.
        if (args is [GpuCheckCommand.Name, .. var rest]) return GpuCheckCommand.Run(rest);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
