using System.Diagnostics;
using HardFocus.Engine.Backends;
using HardFocus.Training;

namespace HardFocus.Bench.GpuCheck;

/// <summary>A model preset trained at one batch shape; bench/torch_gpt.py times the same ones.</summary>
internal sealed record ThroughputPreset(string Model, string Tokenizer, int BatchSize, int SeqLen);

/// <summary>
/// Tokens per second of whole training steps (forward, per-sample losses to the host, backward, AdamW) through
/// <see cref="TrainingSession"/> on the embedded Moby-Dick, exactly as `hardfocus train` runs them.
/// </summary>
internal static class TrainingThroughput
{
    private const int WarmupSteps = 2;

    public static IReadOnlyList<ThroughputPreset> Presets(bool quick) => quick
        ? [new("tiny", "bytes", 2, 16)]
        : [new("small", "bytes", 8, 128), new("llama-small", "bytes", 8, 128), new("gpt2", "gpt2", 8, 1024), new("smollm-135m", "bytes", 4, 64)];

    /// <summary>Prints one parseable line per preset (see bench/gpu-check.sh); returns whether every preset ran.</summary>
    public static bool Run(IBackend backend, bool quick, int steps, TextWriter output)
    {
        output.WriteLine($"training throughput: {WarmupSteps} warm-up steps, then {steps} timed");
        bool allRan = true;
        foreach (var preset in Presets(quick))
        {
            // Halve the batch on a device too small for it, rather than reporting nothing for the preset.
            for (int batch = preset.BatchSize; ; batch /= 2)
            {
                try
                {
                    double tokensPerSecond = Measure(backend, preset with { BatchSize = batch }, steps);
                    output.WriteLine($"hardfocus {preset.Model} batch={batch} seq={preset.SeqLen} steps={steps} tokens_per_s={tokensPerSecond:0}");
                    break;
                }
                catch (DeviceOutOfMemoryException) when (batch > 1)
                {
                    output.WriteLine($"{preset.Model}: out of device memory at batch {batch}; retrying at {batch / 2}");
                    backend.TrimPool();
                }
                catch (Exception e)
                {
                    output.WriteLine($"{preset.Model}: FAILED at batch {batch}: {e.GetType().Name}: {e.Message}");
                    allRan = false;
                    break;
                }
            }
            backend.TrimPool();
        }
        return allRan;
    }

    private static double Measure(IBackend backend, ThroughputPreset preset, int steps)
    {
        var options = new TrainOptions
        {
            Model = preset.Model, Tokenizer = preset.Tokenizer, BatchSize = preset.BatchSize, SeqLen = preset.SeqLen,
            Steps = WarmupSteps + steps, EvalEvery = 0, SaveEvery = 0,
        };
        using var session = new TrainingSession(options, backend);
        for (int i = 0; i < WarmupSteps; i++) session.Trainer.Step();
        Synchronize(session);
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        for (int i = 0; i < steps; i++) tokens += session.Trainer.Step().Tokens;
        // A step ends with the optimizer's kernels queued, not finished.
        Synchronize(session);
        return tokens / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Waits for the device by reading back one parameter element (downloads wait for queued kernels).</summary>
    private static void Synchronize(TrainingSession session)
    {
        var parameter = session.Model.Parameters().First();
        Span<float> one = stackalloc float[1];
        parameter.Backend.Download(parameter.Buffer, one);
    }
}
