using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace HardFocus.Bench.Torch.Baselines;

/// <summary>
/// Runs the baselines inside this process rather than in a freshly built copy of it, because only this process's
/// output folder holds the libLibTorchSharp.so that the native fix-up patched. Medians next to means, and the ratio
/// to the TorchSharp baseline, since the machine is shared.
/// </summary>
internal class InProcessConfigBase : ManualConfig
{
    public InProcessConfigBase()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(9));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min);
        WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
    }
}
