using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.Backends.Ilgpu;
using HardFocus.Training.Cli;
using ILGPU;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace HardFocus.Tests;

/// <summary>
/// The ILGPU GEMM kernel on the CPU emulator against the CPU backend, and the row-major to column-major mapping that the
/// cuBLAS path uses, run on the host (no GPU here, so that mapping is checked by executing its column-major call).
/// </summary>
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
        Assert.False(_gpu.UsesCuBlas);
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

    [Fact]
    public void Tf32_IsRefusedOffCuda()
    {
        var context = Context.Create(b => b.CPU().EnableAlgorithms());
        var accelerator = context.GetCPUDevice(0).CreateAccelerator(context);
        var e = Assert.Throws<ArgumentException>(() => { _ = new IlgpuBackend(accelerator, options: new IlgpuBackendOptions { Tf32 = true }); });
        Assert.Contains("TF32 needs a CUDA device", e.Message);
        Assert.Equal("--tf32 needs a CUDA device, but --device cpu is not one.",
            Assert.Throws<UserError>(() => Devices.Resolve("cpu", tf32: true)).Message);
    }

    // ---- the cuBLAS mapping ------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Transposes))]
    public void ColumnMajorCall_ComputesTheRowMajorGemm(bool transA, bool transB)
    {
        foreach (var (m, n, k) in new[] { (1, 1, 1), (3, 5, 7), (6, 2, 0), (17, 4, 9) })
        foreach (var (strideA, strideB) in new[] { (m * k, k * n), (0, k * n), (m * k, 0) })
        {
            const int batch = 3;
            float[] a = Random(batch * m * k), b = Random(batch * k * n), c = Random(batch * m * n);
            float[] expected = (float[])c.Clone();
            RowMajorGemm(transA, transB, m, n, k, 0.5f, a, strideA, b, strideB, -2f, expected, m * n, batch);
            var call = ColumnMajorGemm<float[]>.FromRowMajor(transA, transB, m, n, k, a, strideA, b, strideB, c, m * n);
            ColumnMajorReference(call, 0.5f, -2f, batch);
            for (int i = 0; i < c.Length; i++)
                Assert.True(Math.Abs(expected[i] - c[i]) <= 1e-4, $"{m}x{n}x{k} tA={transA} tB={transB} strides {strideA},{strideB}: C[{i}]");
        }
    }

    /// <summary>C = alpha op(A) op(B) + beta C, row-major, as <see cref="IBackend.Gemm"/> defines it.</summary>
    private static void RowMajorGemm(bool transA, bool transB, int m, int n, int k, float alpha, float[] a, long strideA,
        float[] b, long strideB, float beta, float[] c, long strideC, int batch)
    {
        for (int z = 0; z < batch; z++)
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int p = 0; p < k; p++)
                sum += a[z * strideA + (transA ? p * m + i : i * k + p)] * b[z * strideB + (transB ? j * k + p : p * n + j)];
            long ci = z * strideC + i * n + j;
            c[ci] = (float)(alpha * sum + beta * c[ci]);
        }
    }

    /// <summary>cublasSgemmStridedBatched's definition, column-major, with its argument checks: element (r, s) of a matrix
    /// with leading dimension ld is at r + s * ld.</summary>
    private static void ColumnMajorReference(ColumnMajorGemm<float[]> call, float alpha, float beta, int batch)
    {
        bool firstT = call.FirstOp == CuBlasOperation.Transpose, secondT = call.SecondOp == CuBlasOperation.Transpose;
        Assert.True(call.LdFirst >= Math.Max(1, firstT ? call.K : call.M), "lda too small");
        Assert.True(call.LdSecond >= Math.Max(1, secondT ? call.N : call.K), "ldb too small");
        Assert.True(call.Ldc >= Math.Max(1, call.M), "ldc too small");
        for (int z = 0; z < batch; z++)
        for (int i = 0; i < call.M; i++)
        for (int j = 0; j < call.N; j++)
        {
            double sum = 0;
            for (int p = 0; p < call.K; p++)
            {
                float x = call.First[z * call.StrideFirst + (firstT ? p + (long)i * call.LdFirst : i + (long)p * call.LdFirst)];
                float y = call.Second[z * call.StrideSecond + (secondT ? j + (long)p * call.LdSecond : p + (long)j * call.LdSecond)];
                sum += x * y;
            }
            long ci = z * call.StrideC + i + (long)j * call.Ldc;
            call.C[ci] = (float)(alpha * sum + beta * call.C[ci]);
        }
    }
}
