using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Data;

namespace HardFocus.Tests;

/// <summary>The per-kernel timing wrapper behind `compare --profile`: it must change no number, and its table must
/// account for the calls the step made.</summary>
public sealed class ProfilingBackendTests
{
    private static readonly Sample[] Batch =
    [
        new([1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 7], [1f, 1f, 1f, 1f, 1f, 1f]),
        new([9, 8, 7, 0, 0, 0], [8, 7, 6, 0, 0, 0], [1f, 1f, 1f, 0f, 0f, 0f]),
    ];

    private static (float[] Losses, float[] Gradient) Step(IBackend backend)
    {
        using var model = new GptModel(GptConfig.Tiny(256), backend, seed: 3);
        using var scope = TensorScope.Begin();
        var (ids, targets, mask) = BatchTensors.Create(Batch, model);
        var perSample = PerSampleLoss.Compute(model, ids, targets, mask);
        perSample.Backward(Tensor.FromArray([1f, 1f], perSample.Shape, perSample.Backend));
        return (perSample.ToArray(), model.NamedParameters().First(p => p.Name.EndsWith("c_fc.weight")).Parameter.Grad!.ToArray());
    }

    [Fact]
    public void AStepThroughTheWrapper_GivesTheSameNumbers_AndATableOfItsKernels()
    {
        var plain = Step(new CpuBackend());
        using var profiled = ProfilingBackend.Cpu();
        var timed = Step(profiled);

        Assert.Equal(plain.Losses, timed.Losses);
        Assert.Equal(plain.Gradient, timed.Gradient);

        var table = profiled.Snapshot();
        Assert.Contains(table, k => k.Kernel == "CausalAttention" && k.Calls == GptConfig.Tiny(256).Layers);
        Assert.Contains(table, k => k.Kernel == "CausalAttentionBackward");
        // Every GEMM is keyed by its shape, and its FLOP count is 2mnk per call.
        var gemms = table.Where(k => k.Kernel.StartsWith("Gemm ")).ToArray();
        Assert.NotEmpty(gemms);
        foreach (var gemm in gemms)
        {
            var dims = gemm.Kernel.Split(' ')[2].Split('x').Select(long.Parse).ToArray();
            Assert.Equal(2.0 * dims[0] * dims[1] * dims[2] * gemm.Calls, gemm.Flops);
        }
        Assert.All(table, k => Assert.True(k.Time >= TimeSpan.Zero && k.Calls > 0));
        // Sorted by time, most first.
        Assert.Equal(table.OrderByDescending(k => k.Time).Select(k => k.Kernel), table.Select(k => k.Kernel));

        profiled.Reset();
        Assert.Empty(profiled.Snapshot());
    }
}
