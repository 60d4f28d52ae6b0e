using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Tests;

/// <summary>A small decoder-shaped graph through the public op API, forward and backward, on the ILGPU emulator and the CPU.</summary>
[Collection("ilgpu")]
public sealed class IlgpuOpParityTests(IlgpuFixture fixture)
{
    private const int Batch = 2, Seq = 5, Vocab = 11, Channels = 8, Heads = 2;
    private static readonly int[] TokenIds = [1, 4, 2, 7, 3, 3, 9, 0, 5, 3];
    private static readonly int[] Targets = [4, 2, 7, 3, 3, 9, 0, 5, 6, 1];
    private static readonly float[] Mask = [1, 1, 1, 1, 0, 1, 1, 1, 0, 0];
    private static readonly float[] SampleWeights = [0.25f, 0.75f];

    /// <summary>Parameters drawn from one seed, so both backends start from the same values.</summary>
    private sealed class Model : IDisposable
    {
        public readonly Tensor Table, W1, B1, Gamma, Beta, Wk, Wv, W2, B2;
        public readonly Tensor[] Parameters;

        public Model(IBackend backend)
        {
            var rng = new Rng(11);
            Tensor P(float std, params int[] shape) =>
                Tensor.Parameter(Enumerable.Range(0, new Shape(shape).Size).Select(_ => std * rng.NextGaussian()).ToArray(), new Shape(shape), backend);
            Table = P(1f, Vocab, Channels); W1 = P(0.4f, Channels, Channels); B1 = P(0.1f, Channels);
            Gamma = Tensor.Parameter(Enumerable.Range(0, Channels).Select(_ => 1f + 0.1f * rng.NextGaussian()).ToArray(), new Shape(Channels), backend);
            Beta = P(0.1f, Channels); Wk = P(0.4f, Channels, Channels); Wv = P(0.4f, Channels, Channels);
            W2 = P(0.4f, Vocab, Channels); B2 = P(0.1f, Vocab);
            Parameters = [Table, W1, B1, Gamma, Beta, Wk, Wv, W2, B2];
        }

        /// <summary>One forward and backward pass; returns the objective and the per-sample losses.</summary>
        public (float Objective, float[] PerSample) Step(IBackend backend)
        {
            using var scope = TensorScope.Begin();
            var x = Ops.Embedding(Table, IndexTensor.FromArray(TokenIds, new Shape(Batch, Seq), backend));
            var h = Ops.Gelu(Ops.LayerNorm(Ops.Linear(x, W1, B1), Gamma, Beta));
            var q = Ops.SplitHeads(h, Heads);
            var k = Ops.SplitHeads(Ops.Linear(h, Wk), Heads);
            var v = Ops.SplitHeads(Ops.Linear(x, Wv), Heads);
            var attended = Ops.Dropout(Ops.MergeHeads(Ops.CausalAttention(q, k, v)), 0.2f, seed: 5);
            var logits = Ops.Linear(attended, W2, B2);
            var mask = Tensor.FromArray(Mask, new Shape(Batch, Seq), backend);
            var tokens = Ops.CrossEntropy(logits, IndexTensor.FromArray(Targets, new Shape(Batch, Seq), backend), mask);
            var perSample = Ops.MaskedMean(tokens, mask);
            var objective = Ops.Sum(perSample * Tensor.FromArray(SampleWeights, new Shape(Batch), backend));
            objective.Backward();
            return (objective.Item(), perSample.ToArray());
        }

        public void ZeroGrad()
        {
            foreach (var p in Parameters) p.ZeroGrad();
        }

        public void Dispose()
        {
            foreach (var p in Parameters) p.Dispose();
        }
    }

    private static void Close(float[] expected, float[] actual, string what, double tol = 1e-4)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: cpu {expected[i]}, ilgpu {actual[i]}");
    }

    [Fact]
    public void CompositeGraph_OutputsAndEveryParameterGradient_Agree()
    {
        var cpu = new CpuBackend();
        using var onCpu = new Model(cpu);
        using var onGpu = new Model(fixture.Backend);
        var (cpuObjective, cpuPerSample) = onCpu.Step(cpu);
        var (gpuObjective, gpuPerSample) = onGpu.Step(fixture.Backend);
        Close([cpuObjective], [gpuObjective], "objective");
        Close(cpuPerSample, gpuPerSample, "per-sample loss");
        string[] names = ["table", "w1", "b1", "gamma", "beta", "wk", "wv", "w2", "b2"];
        for (int i = 0; i < names.Length; i++)
        {
            float[] expected = onCpu.Parameters[i].Grad!.ToArray();
            Assert.Contains(expected, g => g != 0f);
            Close(expected, onGpu.Parameters[i].Grad!.ToArray(), names[i]);
        }
    }

    [Fact]
    public void Pool_StopsAllocatingAfterTheFirstStep()
    {
        var backend = fixture.Backend;
        using var model = new Model(backend);
        model.Step(backend);
        model.ZeroGrad();
        var warm = backend.PoolStats;
        for (int i = 0; i < 3; i++)
        {
            model.Step(backend);
            model.ZeroGrad();
        }
        var after = backend.PoolStats;
        Assert.Equal(warm.FreshAllocations, after.FreshAllocations);
        Assert.True(after.Rents - warm.Rents >= 3 * 30, "each step should rent many buffers");
        Assert.Equal(after.Rents - warm.Rents, after.Recycles - warm.Recycles);
    }
}
