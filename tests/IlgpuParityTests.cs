using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.Backends.Ilgpu;
using ILGPU;
using ILGPU.Runtime.CPU;

namespace HardFocus.Tests;

/// <summary>
/// One ILGPU backend on the CPU emulator for every ILGPU test, so each kernel compiles once. The emulated device has two
/// multiprocessors: grid-stride kernels then launch two groups, so stride and partial-sum paths are exercised.
/// </summary>
public sealed class IlgpuFixture : IDisposable
{
    public IlgpuBackend Backend { get; }

    public IlgpuFixture()
    {
        var context = Context.Create(b => b.CPU(new CPUDevice(4, 4, 2)).EnableAlgorithms());
        Backend = new IlgpuBackend(context.GetCPUDevice(0).CreateAccelerator(context));
    }

    public void Dispose() => Backend.Dispose();
}

[CollectionDefinition("ilgpu")]
public sealed class IlgpuCollection : ICollectionFixture<IlgpuFixture>;

/// <summary>Every kernel of <see cref="IBackend"/> run on the ILGPU emulator and on the CPU backend with the same inputs.</summary>
[Collection("ilgpu")]
public sealed class IlgpuParityTests(IlgpuFixture fixture) : IDisposable
{
    private readonly IlgpuBackend _gpu = fixture.Backend;
    private readonly CpuBackend _cpu = new();
    private readonly Rng _rng = new(7);
    private readonly List<Pair> _pairs = [];

    /// <summary>The same array on both backends.</summary>
    private sealed record Pair(DeviceBuffer<float> Cpu, DeviceBuffer<float> Gpu);

    private float[] Random(int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = scale * _rng.NextGaussian();
        return a;
    }

    private Pair Same(float[] data)
    {
        var pair = new Pair(_cpu.Allocate<float>(data.Length), _gpu.Allocate<float>(data.Length));
        _cpu.Upload<float>(data, pair.Cpu);
        _gpu.Upload<float>(data, pair.Gpu);
        _pairs.Add(pair);
        return pair;
    }

    /// <summary>An output pair prefilled with NaN, so an element a kernel forgets to write shows up.</summary>
    private Pair Output(int n) => Same(Enumerable.Repeat(float.NaN, n).ToArray());

    private (DeviceBuffer<int> Cpu, DeviceBuffer<int> Gpu) Ids(int[] ids)
    {
        var cpu = _cpu.Allocate<int>(ids.Length);
        var gpu = _gpu.Allocate<int>(ids.Length);
        _cpu.Upload<int>(ids, cpu);
        _gpu.Upload<int>(ids, gpu);
        return (cpu, gpu);
    }

    private float[] Host(DeviceBuffer<float> buffer, IBackend backend)
    {
        var a = new float[buffer.Length];
        backend.Download(buffer, a.AsSpan());
        return a;
    }

    private void Close(Pair pair, double tol = 1e-4, string what = "")
    {
        float[] expected = Host(pair.Cpu, _cpu), actual = Host(pair.Gpu, _gpu);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(float.IsFinite(expected[i]) && float.IsFinite(actual[i]), $"{what}[{i}]: cpu {expected[i]}, ilgpu {actual[i]}");
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: cpu {expected[i]}, ilgpu {actual[i]}");
        }
    }

    private void Exact(Pair pair) => Assert.Equal(Host(pair.Cpu, _cpu), Host(pair.Gpu, _gpu));

    public void Dispose()
    {
        foreach (var pair in _pairs)
        {
            pair.Cpu.Release();
            pair.Gpu.Release();
        }
    }

    [Fact]
    public void Memory_UploadDownloadFillCopy()
    {
        var data = Random(29);
        var a = Same(data);
        Assert.Equal(data, Host(a.Gpu, _gpu));
        var ints = _gpu.Allocate<int>(5);
        _gpu.Upload<int>([3, -1, 7, 0, 2], ints);
        var back = new int[5];
        _gpu.Download(ints, back.AsSpan());
        Assert.Equal([3, -1, 7, 0, 2], back);
        ints.Release();

        var b = Output(29);
        _cpu.Copy(a.Cpu, b.Cpu, 17); _gpu.Copy(a.Gpu, b.Gpu, 17);
        _cpu.Fill(b.Cpu, 2.5f, 9); _gpu.Fill(b.Gpu, 2.5f, 9);
        var cpu = Host(b.Cpu, _cpu); var gpu = Host(b.Gpu, _gpu);
        Assert.Equal(cpu[..17], gpu[..17]);
        Assert.All(gpu[17..], v => Assert.True(float.IsNaN(v)));
    }

    [Theory]
    [InlineData(BinaryOp.Add)]
    [InlineData(BinaryOp.Subtract)]
    [InlineData(BinaryOp.Multiply)]
    public void Binary_FullScalarAndRowBroadcast(BinaryOp op)
    {
        int rows = 5, cols = 33, n = rows * cols;
        var a = Same(Random(n));
        foreach (int period in new[] { n, 1, cols })
        {
            var b = Same(Random(period));
            var y = Output(n);
            _cpu.Binary(op, a.Cpu, b.Cpu, y.Cpu, n, period);
            _gpu.Binary(op, a.Gpu, b.Gpu, y.Gpu, n, period);
            Close(y, 1e-6, $"{op} period {period}");
        }
    }

    [Fact]
    public void Affine_AxpyAccumulate_SumToPeriod_Sum()
    {
        int rows = 7, cols = 19, n = rows * cols;
        var x = Same(Random(n));
        var y = Output(n);
        _cpu.Affine(x.Cpu, y.Cpu, n, -1.5f, 0.25f); _gpu.Affine(x.Gpu, y.Gpu, n, -1.5f, 0.25f);
        Close(y, 1e-6, "affine");
        var acc = Same(Random(n));
        _cpu.AxpyAccumulate(0.75f, x.Cpu, acc.Cpu, n); _gpu.AxpyAccumulate(0.75f, x.Gpu, acc.Gpu, n);
        Close(acc, 1e-6, "axpy");

        foreach (int period in new[] { cols, 1, n, 3 * cols })
        {
            var s = Output(period);
            _cpu.SumToPeriod(x.Cpu, s.Cpu, n, period); _gpu.SumToPeriod(x.Gpu, s.Gpu, n, period);
            Close(s, 1e-4, $"sum to period {period}");
        }
        // Long enough that the two emulated groups each add a part and a second pass combines them.
        foreach (int count in new[] { 1, 5, n, 2000 })
        {
            var big = Same(Random(count));
            var sum = Output(1);
            _cpu.Sum(big.Cpu, sum.Cpu, count); _gpu.Sum(big.Gpu, sum.Gpu, count);
            Close(sum, 1e-4, $"sum of {count}");
        }
    }

    [Fact]
    public void Gelu_ForwardAndBackward()
    {
        int n = 77;
        var x = Same(Random(n, 3f));
        var dy = Same(Random(n));
        var y = Output(n);
        var dx = Output(n);
        _cpu.Gelu(x.Cpu, y.Cpu, n); _gpu.Gelu(x.Gpu, y.Gpu, n);
        _cpu.GeluBackward(x.Cpu, dy.Cpu, dx.Cpu, n); _gpu.GeluBackward(x.Gpu, dy.Gpu, dx.Gpu, n);
        Close(y, 1e-5, "gelu");
        Close(dx, 1e-5, "gelu backward");
    }

    [Fact]
    public void Dropout_DrawsTheSameMask()
    {
        int n = 301;
        var x = Same(Random(n));
        var y = Output(n);
        var keep = Output(n);
        _cpu.Dropout(x.Cpu, y.Cpu, keep.Cpu, n, 0.3f, 12345UL);
        _gpu.Dropout(x.Gpu, y.Gpu, keep.Gpu, n, 0.3f, 12345UL);
        Exact(keep);
        Exact(y);
        var mask = Host(keep.Gpu, _gpu);
        Assert.Contains(0f, mask);
        Assert.Contains(1f / 0.7f, mask);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Gemm_AllShapes_BetaZeroIgnoresNaN(bool transA, bool transB)
    {
        int[] sizes = [1, 3, 17, 33];
        foreach (int m in sizes)
        foreach (int n in sizes)
        foreach (int k in sizes)
        {
            var a = Same(Random(m * k));
            var b = Same(Random(k * n));
            var c = Output(m * n);
            _cpu.Gemm(transA, transB, m, n, k, 1f, a.Cpu, 0, b.Cpu, 0, 0f, c.Cpu, 0, 1);
            _gpu.Gemm(transA, transB, m, n, k, 1f, a.Gpu, 0, b.Gpu, 0, 0f, c.Gpu, 0, 1);
            Close(c, 1e-4, $"gemm {m}x{n}x{k} tA={transA} tB={transB}");
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Gemm_BatchedWithSharedOperands_AlphaBeta(bool transA, bool transB)
    {
        int batch = 3, m = 5, n = 17, k = 9;
        var a = Same(Random(batch * m * k));
        var b = Same(Random(batch * k * n));
        var c = Same(Random(batch * m * n));
        // A shared (stride 0), then B shared, accumulating into C with beta != 0.
        _cpu.Gemm(transA, transB, m, n, k, 0.5f, a.Cpu, 0, b.Cpu, k * n, 1.5f, c.Cpu, m * n, batch);
        _gpu.Gemm(transA, transB, m, n, k, 0.5f, a.Gpu, 0, b.Gpu, k * n, 1.5f, c.Gpu, m * n, batch);
        Close(c, 1e-4, "A shared");
        _cpu.Gemm(transA, transB, m, n, k, -1f, a.Cpu, m * k, b.Cpu, 0, -0.5f, c.Cpu, m * n, batch);
        _gpu.Gemm(transA, transB, m, n, k, -1f, a.Gpu, m * k, b.Gpu, 0, -0.5f, c.Gpu, m * n, batch);
        Close(c, 1e-4, "B shared");
    }

    [Fact]
    public void Softmax_ForwardAndBackward()
    {
        foreach (var (rows, cols) in new[] { (3, 5), (7, 33), (4, 1) })
        {
            var x = Same(Random(rows * cols, 4f));
            var dy = Same(Random(rows * cols));
            var y = Output(rows * cols);
            var dx = Output(rows * cols);
            _cpu.Softmax(x.Cpu, y.Cpu, rows, cols); _gpu.Softmax(x.Gpu, y.Gpu, rows, cols);
            Close(y, 1e-5, $"softmax {rows}x{cols}");
            _cpu.SoftmaxBackward(y.Cpu, dy.Cpu, dx.Cpu, rows, cols); _gpu.SoftmaxBackward(y.Gpu, dy.Gpu, dx.Gpu, rows, cols);
            Close(dx, 1e-5, $"softmax backward {rows}x{cols}");
        }
    }

    [Fact]
    public void LayerNorm_ForwardAndBackward_AccumulatesParameterGradients()
    {
        foreach (var (rows, cols) in new[] { (3, 5), (6, 33), (40, 7) })
        {
            int n = rows * cols;
            var x = Same(Random(n, 2f).Select(v => v + 3f).ToArray());
            var gamma = Same(Random(cols));
            var beta = Same(Random(cols));
            var dy = Same(Random(n));
            Pair y = Output(n), mean = Output(rows), rstd = Output(rows), dx = Output(n);
            // Start from non-zero gradients: the kernel must add to them.
            Pair dGamma = Same(Random(cols)), dBeta = Same(Random(cols));
            _cpu.LayerNorm(x.Cpu, gamma.Cpu, beta.Cpu, y.Cpu, mean.Cpu, rstd.Cpu, rows, cols, 1e-5f);
            _gpu.LayerNorm(x.Gpu, gamma.Gpu, beta.Gpu, y.Gpu, mean.Gpu, rstd.Gpu, rows, cols, 1e-5f);
            Close(y, 1e-4, "y"); Close(mean, 1e-5, "mean"); Close(rstd, 1e-4, "rstd");
            _cpu.LayerNormBackward(x.Cpu, gamma.Cpu, mean.Cpu, rstd.Cpu, dy.Cpu, dx.Cpu, dGamma.Cpu, dBeta.Cpu, rows, cols);
            _gpu.LayerNormBackward(x.Gpu, gamma.Gpu, mean.Gpu, rstd.Gpu, dy.Gpu, dx.Gpu, dGamma.Gpu, dBeta.Gpu, rows, cols);
            Close(dx, 1e-4, "dx"); Close(dGamma, 1e-4, "dgamma"); Close(dBeta, 1e-4, "dbeta");
        }
    }

    [Fact]
    public void CrossEntropy_WithAndWithoutMask()
    {
        int rows = 7, vocab = 29;
        var logits = Same(Random(rows * vocab, 3f));
        // Masked rows may hold any target, padding ids included.
        int[] targets = [3, 28, -1, 0, 100, 11, 5];
        var mask = Same([1, 1, 0, 1, 0, 1, 1]);
        var (tCpu, tGpu) = Ids(targets);
        var dLoss = Same(Random(rows));
        Pair losses = Output(rows), lse = Output(rows), dLogits = Output(rows * vocab);
        _cpu.CrossEntropy(logits.Cpu, tCpu, mask.Cpu, losses.Cpu, lse.Cpu, rows, vocab);
        _gpu.CrossEntropy(logits.Gpu, tGpu, mask.Gpu, losses.Gpu, lse.Gpu, rows, vocab);
        Close(losses, 1e-5, "masked losses"); Close(lse, 1e-5, "logsumexp");
        _cpu.CrossEntropyBackward(logits.Cpu, tCpu, mask.Cpu, lse.Cpu, dLoss.Cpu, dLogits.Cpu, rows, vocab);
        _gpu.CrossEntropyBackward(logits.Gpu, tGpu, mask.Gpu, lse.Gpu, dLoss.Gpu, dLogits.Gpu, rows, vocab);
        Close(dLogits, 1e-5, "masked dlogits");
        Assert.All(Host(dLogits.Gpu, _gpu).AsSpan(2 * vocab, vocab).ToArray(), v => Assert.Equal(0f, v));

        var (vCpu, vGpu) = Ids([3, 28, 1, 0, 7, 11, 5]);
        _cpu.CrossEntropy(logits.Cpu, vCpu, null, losses.Cpu, lse.Cpu, rows, vocab);
        _gpu.CrossEntropy(logits.Gpu, vGpu, null, losses.Gpu, lse.Gpu, rows, vocab);
        Close(losses, 1e-5, "losses");
        _cpu.CrossEntropyBackward(logits.Cpu, vCpu, null, lse.Cpu, dLoss.Cpu, dLogits.Cpu, rows, vocab);
        _gpu.CrossEntropyBackward(logits.Gpu, vGpu, null, lse.Gpu, dLoss.Gpu, dLogits.Gpu, rows, vocab);
        Close(dLogits, 1e-5, "dlogits");
        foreach (var ids in new[] { tCpu, tGpu, vCpu, vGpu }) ids.Release();
    }

    [Fact]
    public void CrossEntropy_OutOfRangeTargetOnAnUnmaskedRow_GivesNaN()
    {
        var logits = Same(Random(2 * 5));
        var (tCpu, tGpu) = Ids([1, 5]);
        Pair losses = Output(2), lse = Output(2);
        _gpu.CrossEntropy(logits.Gpu, tGpu, null, losses.Gpu, lse.Gpu, 2, 5);
        var got = Host(losses.Gpu, _gpu);
        Assert.True(float.IsFinite(got[0]));
        Assert.True(float.IsNaN(got[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _cpu.CrossEntropy(logits.Cpu, tCpu, null, losses.Cpu, lse.Cpu, 2, 5));
        tCpu.Release(); tGpu.Release();
    }

    [Fact]
    public void MaskedRowMean_WithAFullyMaskedRow()
    {
        int rows = 4, cols = 21;
        var x = Same(Random(rows * cols));
        var maskData = new float[rows * cols];
        for (int i = 0; i < maskData.Length; i++) maskData[i] = i / cols == 2 ? 0f : _rng.NextFloat() < 0.6f ? 1f : 0f;
        var mask = Same(maskData);
        var dy = Same(Random(rows));
        Pair y = Output(rows), dx = Output(rows * cols);
        _cpu.MaskedRowMean(x.Cpu, mask.Cpu, y.Cpu, rows, cols); _gpu.MaskedRowMean(x.Gpu, mask.Gpu, y.Gpu, rows, cols);
        Close(y, 1e-5, "masked mean");
        _cpu.MaskedRowMeanBackward(mask.Cpu, dy.Cpu, dx.Cpu, rows, cols); _gpu.MaskedRowMeanBackward(mask.Gpu, dy.Gpu, dx.Gpu, rows, cols);
        Close(dx, 1e-5, "masked mean backward");
        Assert.Equal(0f, Host(y.Gpu, _gpu)[2]);
    }

    [Theory]
    [InlineData(3, 7, 5)]
    [InlineData(2, 19, 6)]
    [InlineData(1, 1, 3)]
    public void CausalAttention_ForwardAndBackward(int heads, int seq, int headDim)
    {
        int n = heads * seq * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        Pair q = Same(Random(n)), k = Same(Random(n)), v = Same(Random(n)), dOut = Same(Random(n));
        Pair o = Output(n), lse = Output(heads * seq), dq = Output(n), dk = Output(n), dv = Output(n);
        _cpu.CausalAttention(q.Cpu, k.Cpu, v.Cpu, o.Cpu, lse.Cpu, heads, 1, seq, headDim, scale);
        _gpu.CausalAttention(q.Gpu, k.Gpu, v.Gpu, o.Gpu, lse.Gpu, heads, 1, seq, headDim, scale);
        Close(o, 1e-4, "output"); Close(lse, 1e-5, "logsumexp");
        _cpu.CausalAttentionBackward(q.Cpu, k.Cpu, v.Cpu, o.Cpu, lse.Cpu, dOut.Cpu, dq.Cpu, dk.Cpu, dv.Cpu, heads, 1, seq, headDim, scale);
        _gpu.CausalAttentionBackward(q.Gpu, k.Gpu, v.Gpu, o.Gpu, lse.Gpu, dOut.Gpu, dq.Gpu, dk.Gpu, dv.Gpu, heads, 1, seq, headDim, scale);
        Close(dq, 1e-4, "dq"); Close(dk, 1e-4, "dk"); Close(dv, 1e-4, "dv");
    }

    [Theory]
    [InlineData(4, 1, 7, 5)]
    [InlineData(6, 3, 19, 6)]
    [InlineData(4, 4, 3, 4)]
    public void GroupedQueryAttention_ForwardAndBackward(int heads, int kvHeads, int seq, int headDim)
    {
        int n = heads * seq * headDim, nkv = kvHeads * seq * headDim, group = heads / kvHeads;
        float scale = 1f / MathF.Sqrt(headDim);
        Pair q = Same(Random(n)), k = Same(Random(nkv)), v = Same(Random(nkv)), dOut = Same(Random(n));
        Pair o = Output(n), lse = Output(heads * seq), dq = Output(n), dk = Output(nkv), dv = Output(nkv);
        _cpu.CausalAttention(q.Cpu, k.Cpu, v.Cpu, o.Cpu, lse.Cpu, heads, group, seq, headDim, scale);
        _gpu.CausalAttention(q.Gpu, k.Gpu, v.Gpu, o.Gpu, lse.Gpu, heads, group, seq, headDim, scale);
        Close(o, 1e-4, "output"); Close(lse, 1e-5, "logsumexp");
        _cpu.CausalAttentionBackward(q.Cpu, k.Cpu, v.Cpu, o.Cpu, lse.Cpu, dOut.Cpu, dq.Cpu, dk.Cpu, dv.Cpu, heads, group, seq, headDim, scale);
        _gpu.CausalAttentionBackward(q.Gpu, k.Gpu, v.Gpu, o.Gpu, lse.Gpu, dOut.Gpu, dq.Gpu, dk.Gpu, dv.Gpu, heads, group, seq, headDim, scale);
        Close(dq, 1e-4, "dq"); Close(dk, 1e-4, "dk"); Close(dv, 1e-4, "dv");
    }

    [Fact]
    public void RmsNorm_ForwardAndBackward_AccumulatesGammaGradient()
    {
        foreach (var (rows, cols) in new[] { (3, 5), (6, 33), (40, 7) })
        {
            int n = rows * cols;
            var x = Same(Random(n, 2f));
            var gamma = Same(Random(cols));
            var dy = Same(Random(n));
            Pair y = Output(n), rstd = Output(rows), dx = Output(n);
            // Start from a non-zero gradient: the kernel must add to it.
            Pair dGamma = Same(Random(cols));
            _cpu.RmsNorm(x.Cpu, gamma.Cpu, y.Cpu, rstd.Cpu, rows, cols, 1e-6f);
            _gpu.RmsNorm(x.Gpu, gamma.Gpu, y.Gpu, rstd.Gpu, rows, cols, 1e-6f);
            Close(y, 1e-4, "y"); Close(rstd, 1e-4, "rstd");
            _cpu.RmsNormBackward(x.Cpu, gamma.Cpu, rstd.Cpu, dy.Cpu, dx.Cpu, dGamma.Cpu, rows, cols);
            _gpu.RmsNormBackward(x.Gpu, gamma.Gpu, rstd.Gpu, dy.Gpu, dx.Gpu, dGamma.Gpu, rows, cols);
            Close(dx, 1e-4, "dx"); Close(dGamma, 1e-4, "dgamma");
        }
    }

    [Fact]
    public void SwiGlu_ForwardAndBackward()
    {
        int n = 301;
        Pair gate = Same(Random(n, 4f)), up = Same(Random(n)), dy = Same(Random(n));
        Pair y = Output(n), dGate = Output(n), dUp = Output(n);
        _cpu.SwiGlu(gate.Cpu, up.Cpu, y.Cpu, n); _gpu.SwiGlu(gate.Gpu, up.Gpu, y.Gpu, n);
        Close(y, 1e-5, "y");
        _cpu.SwiGluBackward(gate.Cpu, up.Cpu, dy.Cpu, dGate.Cpu, dUp.Cpu, n);
        _gpu.SwiGluBackward(gate.Gpu, up.Gpu, dy.Gpu, dGate.Gpu, dUp.Gpu, n);
        Close(dGate, 1e-5, "dgate"); Close(dUp, 1e-5, "dup");
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(-1f)]
    public void Rope_BothDirections(float sinSign)
    {
        int rows = 3 * 7, seq = 7, headDim = 10, n = rows * headDim;
        var (cosines, sines) = RotaryTable.Compute(2, seq, headDim, 500f);
        Pair x = Same(Random(n)), cos = Same(cosines), sin = Same(sines), y = Output(n);
        _cpu.Rope(x.Cpu, cos.Cpu, sin.Cpu, y.Cpu, rows, seq, headDim / 2, sinSign);
        _gpu.Rope(x.Gpu, cos.Gpu, sin.Gpu, y.Gpu, rows, seq, headDim / 2, sinSign);
        Exact(y);
    }

    [Fact]
    public void Embedding_GatherAndScatterWithRepeatedIds()
    {
        int rows = 6, dim = 13;
        int[] ids = [2, 5, 2, 0, 2, 5, 3, 2, 1];
        var (iCpu, iGpu) = Ids(ids);
        var table = Same(Random(rows * dim));
        var y = Output(ids.Length * dim);
        _cpu.EmbeddingGather(table.Cpu, iCpu, y.Cpu, ids.Length, dim);
        _gpu.EmbeddingGather(table.Gpu, iGpu, y.Gpu, ids.Length, dim);
        Exact(y);
        var dy = Same(Random(ids.Length * dim));
        var dTable = Same(Random(rows * dim));
        _cpu.EmbeddingScatterAccumulate(dy.Cpu, iCpu, dTable.Cpu, ids.Length, dim);
        _gpu.EmbeddingScatterAccumulate(dy.Gpu, iGpu, dTable.Gpu, ids.Length, dim);
        Close(dTable, 1e-5, "dtable");
        iCpu.Release(); iGpu.Release();
    }

    [Fact]
    public void SwapAxes12_BothWays()
    {
        int d0 = 2, d1 = 3, d2 = 5, d3 = 7, n = d0 * d1 * d2 * d3;
        var x = Same(Random(n));
        Pair y = Output(n), back = Output(n);
        _cpu.SwapAxes12(x.Cpu, y.Cpu, d0, d1, d2, d3); _gpu.SwapAxes12(x.Gpu, y.Gpu, d0, d1, d2, d3);
        Exact(y);
        _gpu.SwapAxes12(y.Gpu, back.Gpu, d0, d2, d1, d3);
        Assert.Equal(Host(x.Gpu, _gpu), Host(back.Gpu, _gpu));
    }

    [Fact]
    public void AdamW_TwoSteps()
    {
        int n = 37;
        Pair p = Same(Random(n)), m = Same(Random(n, 0.1f)), v = Same(Random(n).Select(x => 0.1f * x * x).ToArray());
        for (int step = 1; step <= 2; step++)
        {
            var g = Same(Random(n));
            _cpu.AdamW(p.Cpu, g.Cpu, m.Cpu, v.Cpu, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
            _gpu.AdamW(p.Gpu, g.Gpu, m.Gpu, v.Gpu, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
        }
        Close(p, 1e-5, "parameter"); Close(m, 1e-6, "m"); Close(v, 1e-6, "v");
    }

    [Fact]
    public void BuffersOfAnotherBackend_AreRefused()
    {
        var x = Same(Random(4));
        var ex = Assert.Throws<ArgumentException>(() => _gpu.Affine(x.Cpu, x.Gpu, 4, 1f, 0f));
        Assert.Contains("cpu buffer", ex.Message);
    }

    [Fact]
    public void Devices_ListTheEmulator_AndCreateExplainsMissingDevices()
    {
        var devices = IlgpuDevices.List();
        Assert.Contains(devices, d => d.Kind == IlgpuDevices.Cpu && !d.IsGpu);
        Assert.Equal(IlgpuDevices.Cpu, _gpu.Name);
        Assert.Throws<ArgumentException>(() => IlgpuBackend.Create("tpu"));
        if (devices.Any(d => d.Kind == IlgpuDevices.Cuda))
        {
            using var cuda = IlgpuBackend.Create(IlgpuDevices.Cuda);
            Assert.StartsWith("cuda:0 ", cuda.Name);
        }
        else
        {
            var ex = Assert.Throws<InvalidOperationException>(() => IlgpuBackend.Create(IlgpuDevices.Cuda));
            Assert.Equal("no CUDA device found", ex.Message);
            Assert.NotEqual(IlgpuDevices.Cuda, IlgpuDevices.AutoKind());
        }
    }
}
