using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.Backends.Ilgpu;

namespace HardFocus.Tests;

/// <summary>The ILGPU GEMM kernel on the CPU emulator against the CPU backend.</summary>
[Collection("ilgpu")]
public sealed class IlgpuGemmTests(IlgpuFixture fixture) : IDisposable
{
    private readonly IlgpuBackend _gpu = fixture.Backend;
    private readonly CpuBackend _cpu = new();
    private readonly Rng _rng = new(11);
    private readonly List<(DeviceBuffer<float> Cpu, DeviceBuffer<float> Gpu)> _buffers = [];

    public void Dispose()
    {
        foreach (var (cpu, gpu) in _buffers)
        {
            cpu.Release();
            gpu.Release();
        }
    }

    public static TheoryData<bool, bool> Transposes => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    private float[] Random(int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = _rng.NextGaussian();
        return a;
    }

    private (DeviceBuffer<float> Cpu, DeviceBuffer<float> Gpu) Both(float[] data)
    {
        var pair = (_cpu.Allocate<float>(data.Length), _gpu.Allocate<float>(data.Length));
        _cpu.Upload<float>(data, pair.Item1);
        _gpu.Upload<float>(data, pair.Item2);
        _buffers.Add(pair);
        return pair;
    }

    /// <summary>Runs the same Gemm on both backends and compares all of C.</summary>
    private void Check(bool transA, bool transB, int m, int n, int k, float alpha, int batch, long strideA, long strideB,
        float beta, float[] c)
    {
        var a = Both(Random((int)Math.Max(strideA * (batch - 1), 0) + m * k));
        var b = Both(Random((int)Math.Max(strideB * (batch - 1), 0) + k * n));
        var cs = Both(c);
        _cpu.Gemm(transA, transB, m, n, k, alpha, a.Cpu, strideA, b.Cpu, strideB, beta, cs.Cpu, m * n, batch);
        _gpu.Gemm(transA, transB, m, n, k, alpha, a.Gpu, strideA, b.Gpu, strideB, beta, cs.Gpu, m * n, batch);
        float[] expected = new float[c.Length], actual = new float[c.Length];
        _cpu.Download(cs.Cpu, expected.AsSpan());
        _gpu.Download(cs.Gpu, actual.AsSpan());
        for (int i = 0; i < c.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * (1 + Math.Abs(expected[i])),
                $"{m}x{n}x{k} batch {batch} tA={transA} tB={transB} alpha={alpha} beta={beta}: C[{i}] = {actual[i]}, expected {expected[i]}");
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void Kernel_OddShapes_BetaZeroOverwritesNaN(bool transA, bool transB)
    {
        // Shapes smaller than, straddling and several times the emulator's 32 x 32 tile; k = 0, 1 and odd depths. Every
        // barrier costs the emulator a round of 16 OS threads, so the many-tile shape is shallow here and deep only below.
        foreach (var (m, n, k) in new[] { (1, 1, 1), (33, 17, 65), (70, 129, 5), (5, 7, 0), (40, 3, 1) })
            Check(transA, transB, m, n, k, alpha: -0.75f, batch: 1, 0, 0, beta: 0f, NaNs(m * n));
    }

    [Fact]
    public void Kernel_ManyTilesOddDepth()
    {
        // The layout of a linear layer's forward pass: x times the transposed weight.
        Check(transA: false, transB: true, 70, 129, 31, alpha: 1f, batch: 1, 0, 0, beta: 0f, NaNs(70 * 129));
    }

    private static float[] NaNs(int n) => Enumerable.Repeat(float.NaN, n).ToArray();

    [Theory]
    [MemberData(nameof(Transposes))]
    public void Kernel_BatchWithSharedOperands_Accumulates(bool transA, bool transB)
    {
        int batch = 3, m = 9, n = 35, k = 13;
        // A shared across the batch (stride 0), then B shared; beta = 1 adds onto C.
        Check(transA, transB, m, n, k, alpha: 1.5f, batch, strideA: 0, strideB: k * n, beta: 1f, Random(batch * m * n));
        Check(transA, transB, m, n, k, alpha: 1f, batch, strideA: m * k, strideB: 0, beta: -0.5f, Random(batch * m * n));
    }
}
