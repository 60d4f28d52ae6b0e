using System.Diagnostics;
using System.Runtime.Intrinsics;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Training.Reweighting;

namespace HardFocus.Bench.Torch;

/// <summary>
/// `compare [--model small|gpt2|llama-small] [--batch-size B] [--seq-len T] [--steps N] [--profile]`: whole training steps
/// (forward, IR-DRO objective, backward, AdamW) of the same model from the same weights on the same batches, HardFocus
/// and TorchSharp interleaved step by step in one process after warm-up, so both meet the same machine load. Prints
/// each side's median tokens/s with the spread, peak memory, the median of the per-pair step-time ratios, and last the
/// ratio line.
/// </summary>
internal static class CompareCommand
{
    public const string Name = "compare";
    private const int WarmupSteps = 2;
    private const double Lambda = 1.0;
    private const float LearningRate = 1e-4f;

    public static int Run(IReadOnlyList<string> args)
    {
        var options = new Arguments(Name, args, ["--model", "--batch-size", "--seq-len", "--steps"], ["--profile"]);
        string preset = options.Text("--model", "small");
        if (preset is not ("small" or "gpt2" or "llama-small")) throw new UsageException($"compare: --model must be small, gpt2 or llama-small, got '{preset}'.");
        var config = SharedWeights.Preset(preset);
        int batchSize = options.Integer("--batch-size", preset != "gpt2" ? 8 : 4, 1, 4096);
        int seq = options.Integer("--seq-len", preset != "gpt2" ? 128 : 64, 2, config.ContextLength);
        int steps = options.Integer("--steps", preset != "gpt2" ? 20 : 6, 1, 100_000);
        bool profile = options.Flag("--profile");

        using var folder = new TemporaryFolder();
        string weights = Path.Combine(folder.Path, "model.safetensors");
        SharedWeights.Write(config, seed: 8, weights);
        // With --profile, HardFocus's kernels run through a timing wrapper, which costs well under a millisecond a step.
        using var kernels = profile ? ProfilingBackend.Cpu() : null;
        using var ours = new EngineSide(config, weights, LearningRate, kernels);
        using var theirs = new TorchSide(config, weights, LearningRate);
        var irdro = new IrDro(Lambda);

        // The GEMM picks its kernel by the CPU's instruction sets; the other kernels follow .NET's preferred vector
        // width, which is 256 bits on some AVX-512 machines.
        string vectors = $"{CpuGemm.KernelBits}-bit GEMM kernel, " +
            (Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : "scalar") + " elsewhere";
        Console.WriteLine($"compare: {preset} ({SharedWeights.Describe(config)}, " +
            $"{ours.Model.ParameterCount():N0} parameters), batch {batchSize} x {seq}, IR-DRO (lambda {Lambda}) + AdamW");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {CpuBackend.Threads} threads per side; HardFocus runs its {vectors}; " +
            $"TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, libtorch {TorchSharp.torch.__version__}, OMP_WAIT_POLICY {OpenMpWaitPolicy.Current}");

        var batches = Enumerable.Range(0, WarmupSteps + steps)
            .Select(i => SideBySideBatch.Full(batchSize, seq, config.VocabSize, seed: 100 + (ulong)i)).ToArray();
        for (int i = 0; i < WarmupSteps; i++)
        {
            ours.Step(batches[i], irdro);
            theirs.Step(batches[i], Lambda);
        }

        kernels?.Reset();
        var ourTimer = profile ? new StepTimer() : null;
        var theirTimer = profile ? new StepTimer() : null;
        var ourSeconds = new List<double>();
        var theirSeconds = new List<double>();
        long ourPeak = 0, theirPeak = 0, ourGrowth = 0, theirGrowth = 0, ourAllocated = 0, theirAllocated = 0;
        for (int i = 0; i < steps; i++)
        {
            var batch = batches[WarmupSteps + i];
            void OurStep() => Time(() => ours.Step(batch, irdro, ourTimer), ourTimer, ourSeconds, ref ourPeak, ref ourGrowth, ref ourAllocated);
            void TheirStep() => Time(() => theirs.Step(batch, Lambda, theirTimer), theirTimer, theirSeconds, ref theirPeak, ref theirGrowth, ref theirAllocated);
            // Alternate which side goes first, so neither always inherits the other's cache state.
            if (i % 2 == 0) { OurStep(); TheirStep(); }
            else { TheirStep(); OurStep(); }
        }

        double ourRate = Rate(ourSeconds, batchSize * seq, out string ourSpread);
        double theirRate = Rate(theirSeconds, batchSize * seq, out string theirSpread);
        Console.WriteLine($"{steps} steps each after {WarmupSteps} warm-up steps; tokens/s from the median step, spread = slowest..fastest step");
        Console.WriteLine($"hardfocus   {ourRate,10:N0} tokens/s  ({ourSpread})  median step {Median(ourSeconds) * 1e3,8:N1} ms  peak RSS {Mib(ourPeak)} MiB (+{Mib(ourGrowth)} MiB during a step)  managed allocations {Kib(ourAllocated / steps)} KiB a step");
        Console.WriteLine($"torchsharp  {theirRate,10:N0} tokens/s  ({theirSpread})  median step {Median(theirSeconds) * 1e3,8:N1} ms  peak RSS {Mib(theirPeak)} MiB (+{Mib(theirGrowth)} MiB during a step)  managed allocations {Kib(theirAllocated / steps)} KiB a step");
        if (profile)
        {
            PrintProfile("hardfocus", ourTimer!, steps);
            PrintProfile("torchsharp", theirTimer!, steps);
            PrintKernels(kernels!.Snapshot(), ourTimer!.Phases.Sum(p => p.Seconds), steps);
        }
        // The machine's speed drifts over a run (other tenants, clock), and each pair of steps ran seconds apart, so
        // the ratio within each pair is steadier than the ratio of the two medians; both are printed.
        var paired = theirSeconds.Zip(ourSeconds, (t, o) => t / o).Order().ToList();
        Console.WriteLine($"paired: median of the {steps} per-step ratios {Median(paired):0.00} (quartiles {Quantile(paired, 0.25):0.00}..{Quantile(paired, 0.75):0.00})");
        Console.WriteLine($"ratio hardfocus/torchsharp tokens/s: {ourRate / theirRate:0.00}");
        return 0;
    }

    // The peak resident memory of the one process includes the garbage collector's young generation, which grows with
    // the managed allocation rate of both sides, so each side's allocations are reported too.
    private static void Time(Action step, StepTimer? timer, List<double> seconds, ref long peak, ref long growth, ref long allocated)
    {
        PeakMemory.Reset();
        long before = PeakMemory.ResidentBytes();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        timer?.Start();
        var clock = Stopwatch.StartNew();
        step();
        seconds.Add(clock.Elapsed.TotalSeconds);
        allocated += GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long high = PeakMemory.PeakBytes();
        peak = Math.Max(peak, high);
        growth = Math.Max(growth, high - before);
    }

    private static double Rate(List<double> seconds, int tokens, out string spread)
    {
        spread = $"{tokens / seconds.Max():N0}..{tokens / seconds.Min():N0}";
        return tokens / Median(seconds);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>Linear interpolation between the order statistics of sorted values.</summary>
    private static double Quantile(List<double> sorted, double q)
    {
        double position = q * (sorted.Count - 1);
        int below = (int)position;
        return below + 1 < sorted.Count ? sorted[below] + (position - below) * (sorted[below + 1] - sorted[below]) : sorted[below];
    }

    /// <summary>HardFocus's time by kernel (GEMMs by shape), per step, with what the kernels leave to the step.</summary>
    private static void PrintKernels(IReadOnlyList<KernelTime> table, double stepSeconds, int steps)
    {
        const int Shown = 20;
        double kernelSeconds = table.Sum(k => k.Time.TotalSeconds);
        Console.WriteLine($"kernels hardfocus (ms per step; GEMMs as NN/NT/TN/TT m x n x k, NT = weight stored n x k):");
        foreach (var k in table.Take(Shown))
        {
            string rate = k.Flops > 0 ? $"  {k.Flops / k.Time.TotalSeconds / 1e9,6:N1} GFLOP/s" : "";
            Console.WriteLine($"  {k.Kernel,-34} {k.Time.TotalMilliseconds / steps,8:N2} ms  {k.Time.TotalSeconds / stepSeconds,4:P0}  {(double)k.Calls / steps,6:N1} calls{rate}");
        }
        var gemms = table.Where(k => k.Flops > 0).ToArray();
        double gemmSeconds = gemms.Sum(k => k.Time.TotalSeconds);
        if (table.Count > Shown)
            Console.WriteLine($"  {table.Count - Shown} more kernels {table.Skip(Shown).Sum(k => k.Time.TotalMilliseconds) / steps,8:N2} ms");
        Console.WriteLine($"  all GEMMs {gemmSeconds * 1e3 / steps:N1} ms ({gemmSeconds / stepSeconds:P0}) at {gemms.Sum(k => k.Flops) / gemmSeconds / 1e9:N1} GFLOP/s; " +
            $"other kernels {(kernelSeconds - gemmSeconds) * 1e3 / steps:N1} ms; outside kernels (autograd, host work) {(stepSeconds - kernelSeconds) * 1e3 / steps:N1} ms");
    }

    private static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("N0");
    private static string Kib(long bytes) => (bytes / 1024.0).ToString("N0");

    private static void PrintProfile(string side, StepTimer timer, int steps)
    {
        double total = timer.Phases.Sum(p => p.Seconds);
        Console.WriteLine($"profile {side}: " + string.Join("  ", timer.Phases.Select(p =>
            $"{p.Phase} {p.Seconds / steps * 1e3:N1} ms ({p.Seconds / total:P0})")));
    }
}
