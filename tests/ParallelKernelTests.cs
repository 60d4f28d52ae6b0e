using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Tests;

/// <summary>
/// Shapes large enough that the CPU kernels split work across cores, checked against plain double-precision loops,
/// so chunk boundaries and per-chunk reductions are exercised (the gradient checks use tiny, single-chunk shapes).
/// </summary>
public class ParallelKernelTests
{
    private readonly CpuBackend _cpu = new();
    private readonly Rng _rng = new(99);

    private float[] Random(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = _rng.NextGaussian(); return a; }
    private DeviceBuffer<float> Upload(float[] data) { var b = _cpu.Allocate<float>(data.Length); _cpu.Upload<float>(data, b); return b; }
    private float[] Download(DeviceBuffer<float> b, int n) { var a = new float[n]; _cpu.Download(b, a.AsSpan()); return a; }

    private static void Near(double expected, float actual, double tol = 1e-4) =>
        Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {actual}");

    [Fact]
    public void BroadcastMultiply_And_SumToPeriod()
    {
        int rows = 3001, period = 37, n = rows * period;
        float[] a = Random(n), b = Random(period);
        var y = _cpu.Allocate<float>(n);
        _cpu.Binary(BinaryOp.Multiply, Upload(a), Upload(b), y, n, period);
        var product = Download(y, n);
        for (int i = 0; i < n; i += 97) Near(a[i] * b[i % period], product[i], 1e-6);

        var sums = _cpu.Allocate<float>(period);
        _cpu.SumToPeriod(Upload(a), sums, n, period);
        var got = Download(sums, period);
        for (int j = 0; j < period; j++)
        {
            double expected = 0;
            for (int r = 0; r < rows; r++) expected += a[r * period + j];
            Near(expected, got[j], 1e-3);
        }
    }

    [Fact]
    public void Sum_OfAMillionValues()
    {
        int n = 1_000_003;
        float[] a = Random(n);
        var y = _cpu.Allocate<float>(1);
        _cpu.Sum(Upload(a), y, n);
        Near(a.Sum(v => (double)v), Download(y, 1)[0], 1e-5);
    }

    [Fact]
    public void Gelu_ForwardAndBackward()
    {
        int n = 100_001;
        float[] x = Random(n), dy = Random(n);
        var y = _cpu.Allocate<float>(n); var dx = _cpu.Allocate<float>(n);
        _cpu.Gelu(Upload(x), y, n);
        _cpu.GeluBackward(Upload(x), Upload(dy), dx, n);
        float[] ys = Download(y, n), dxs = Download(dx, n);
        for (int i = 0; i < n; i += 101)
        {
            double v = x[i], c = Math.Sqrt(2 / Math.PI), u = c * (v + 0.044715 * v * v * v), t = Math.Tanh(u);
            Near(0.5 * v * (1 + t), ys[i], 1e-5);
            double du = c * (1 + 3 * 0.044715 * v * v);
            Near(dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du), dxs[i], 1e-4);
        }
    }

    // Far from 0 the sigmoid's exp overflows to infinity or underflows to 0; GELU must still come out as x or 0 with
    // slope 1 or 0, in the vector body and in the scalar tail alike.
    [Fact]
    public void Gelu_SaturatesWithoutNaN()
    {
        float[] x = [-1e4f, -60f, -12f, 12f, 60f, 1e4f, -1e4f, -60f, -12f, 12f, 60f, 1e4f, 1e4f, -1e4f, 60f, -60f, 30f];
        int n = x.Length;
        float[] dy = Enumerable.Repeat(2f, n).ToArray();
        var y = _cpu.Allocate<float>(n); var dx = _cpu.Allocate<float>(n);
        _cpu.Gelu(Upload(x), y, n);
        _cpu.GeluBackward(Upload(x), Upload(dy), dx, n);
        float[] ys = Download(y, n), dxs = Download(dx, n);
        for (int i = 0; i < n; i++)
        {
            Near(x[i] > 0 ? x[i] : 0, ys[i], 1e-6 * Math.Abs(x[i]));
            Near(x[i] > 0 ? 2 : 0, dxs[i], 1e-6);
        }
    }

    [Fact]
    public void LayerNorm_ForwardAndParameterGradients()
    {
        int rows = 3001, cols = 31, n = rows * cols;
        float[] x = Random(n), g = Random(cols), b = Random(cols), dy = Random(n);
        var y = _cpu.Allocate<float>(n); var mean = _cpu.Allocate<float>(rows); var rstd = _cpu.Allocate<float>(rows);
        var dx = _cpu.Allocate<float>(n); var dg = _cpu.Allocate<float>(cols); var db = _cpu.Allocate<float>(cols);
        _cpu.Fill(dg, 0f, cols); _cpu.Fill(db, 0f, cols);
        var gb = Upload(g);
        _cpu.LayerNorm(Upload(x), gb, Upload(b), y, mean, rstd, rows, cols, 1e-5f);
        _cpu.LayerNormBackward(Upload(x), gb, mean, rstd, Upload(dy), dx, dg, db, rows, cols);
        float[] ys = Download(y, n), dgs = Download(dg, cols), dbs = Download(db, cols);
        var expectG = new double[cols]; var expectB = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            double mu = 0, var = 0;
            for (int c = 0; c < cols; c++) mu += x[r * cols + c];
            mu /= cols;
            for (int c = 0; c < cols; c++) var += Math.Pow(x[r * cols + c] - mu, 2);
            double inv = 1 / Math.Sqrt(var / cols + 1e-5);
            for (int c = 0; c < cols; c++)
            {
                double xhat = (x[r * cols + c] - mu) * inv;
                if (r % 50 == 0) Near(xhat * g[c] + b[c], ys[r * cols + c], 1e-4);
                expectG[c] += dy[r * cols + c] * xhat;
                expectB[c] += dy[r * cols + c];
            }
        }
        for (int c = 0; c < cols; c++) { Near(expectG[c], dgs[c], 1e-3); Near(expectB[c], dbs[c], 1e-3); }
    }

    [Fact]
    public void SoftmaxAndCrossEntropy_ManyRows()
    {
        int rows = 1500, vocab = 67, n = rows * vocab;
        float[] logits = Random(n);
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = _rng.NextInt(vocab);
        var t = _cpu.Allocate<int>(rows); _cpu.Upload<int>(targets, t);
        var losses = _cpu.Allocate<float>(rows); var lse = _cpu.Allocate<float>(rows);
        var probs = _cpu.Allocate<float>(n);
        var lb = Upload(logits);
        _cpu.CrossEntropy(lb, t, null, losses, lse, rows, vocab);
        _cpu.Softmax(lb, probs, rows, vocab);
        float[] ls = Download(losses, rows), ps = Download(probs, n);
        for (int r = 0; r < rows; r++)
        {
            double max = double.MinValue, sum = 0;
            for (int c = 0; c < vocab; c++) max = Math.Max(max, logits[r * vocab + c]);
            for (int c = 0; c < vocab; c++) sum += Math.Exp(logits[r * vocab + c] - max);
            double logZ = max + Math.Log(sum);
            Near(logZ - logits[r * vocab + targets[r]], ls[r], 1e-5);
            int c0 = r % vocab;
            Near(Math.Exp(logits[r * vocab + c0] - logZ), ps[r * vocab + c0], 1e-5);
        }
    }

    [Fact]
    public void EmbeddingScatter_WithManyRepeats()
    {
        int count = 5000, dim = 40, rows = 13;
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) ids[i] = _rng.NextInt(rows);
        float[] dy = Random(count * dim);
        var idb = _cpu.Allocate<int>(count); _cpu.Upload<int>(ids, idb);
        var table = _cpu.Allocate<float>(rows * dim); _cpu.Fill(table, 0f, rows * dim);
        _cpu.EmbeddingScatterAccumulate(Upload(dy), idb, table, count, dim);
        var got = Download(table, rows * dim);
        var expected = new double[rows * dim];
        for (int i = 0; i < count; i++) for (int c = 0; c < dim; c++) expected[ids[i] * dim + c] += dy[i * dim + c];
        for (int i = 0; i < expected.Length; i++) Near(expected[i], got[i], 1e-4);
    }

    [Fact]
    public void SwapAxes12_IsAPermutation()
    {
        int d0 = 3, d1 = 37, d2 = 41, d3 = 9, n = d0 * d1 * d2 * d3;
        float[] x = Random(n);
        var y = _cpu.Allocate<float>(n);
        _cpu.SwapAxes12(Upload(x), y, d0, d1, d2, d3);
        var got = Download(y, n);
        for (int a = 0; a < d0; a++) for (int b = 0; b < d1; b++) for (int c = 0; c < d2; c++) for (int d = 0; d < d3; d++)
            Assert.Equal(x[((a * d1 + b) * d2 + c) * d3 + d], got[((a * d2 + c) * d1 + b) * d3 + d]);
    }
}
