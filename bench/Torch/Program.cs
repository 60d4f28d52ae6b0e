using BenchmarkDotNet.Running;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Bench.Torch;

/// <summary>
/// The TorchSharp side by side: `setup` (the native fix-up alone), `parity`, `compare`, `fixture`, or anything else for
/// BenchmarkDotNet's kernel baselines (`-- --filter '*'`). Every command first makes libtorch load (see NativeSetup).
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
                default:
                    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                    return 0;
            }
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }
}
