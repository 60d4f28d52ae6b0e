using BenchmarkDotNet.Running;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Bench.Torch;

/// <summary>
/// The TorchSharp side by side: `setup` (the native fix-up alone), `parity`, `compare`, `fixture`, or BenchmarkDotNet
/// options for the kernel baselines (`-- --filter '*'`). Every command first makes libtorch load (see NativeSetup):
/// exit 3 when it cannot, 2 for bad input, 1 when parity fails.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            OpenMpWaitPolicy.PreferPassive(); // before libtorch (and its OpenMP runtime) loads
            string? problem = NativeSetup.Ensure(Console.Out);
            if (problem != null)
            {
                Console.Error.WriteLine("error: cannot load TorchSharp: " + problem);
                return 3;
            }
            // Same cores on both sides: libtorch's intra-op pool gets as many threads as the engine's kernels.
            TorchSharp.torch.set_num_threads(CpuBackend.Threads);
            var rest = args.Skip(1).ToList();
            switch (args.FirstOrDefault())
            {
                case "setup": Console.WriteLine($"setup: TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version} with libtorch {TorchSharp.torch.__version__} loads"); return 0;
                case ParityCommand.Name: return ParityCommand.Run(rest);
                case CompareCommand.Name: return CompareCommand.Run(rest);
                case FixtureCommand.Name: return FixtureCommand.Run(rest);
                case ['-', ..]:
                    // BenchmarkDotNet's own options (--filter, --list, ...) select the kernel baselines.
                    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                    return 0;
                default:
                    throw new UsageException(args.Length == 0
                        ? "name a command: setup, parity, compare, fixture, or BenchmarkDotNet options such as --filter '*GemmVsTorch*'."
                        : $"unknown command '{args[0]}': use setup, parity, compare, fixture, or BenchmarkDotNet options such as --filter '*'.");
            }
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }
}
