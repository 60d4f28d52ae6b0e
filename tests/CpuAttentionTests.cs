using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Tests;

/// <summary>
/// The CPU backend's blocked attention and streaming cross-entropy against plain double-precision references, at
/// sizes that start, end and straddle the attention blocks and at vocabulary width with extreme logits.
/// </summary>
public class CpuAttentionTests
{
    private readonly CpuBackend _cpu = new();
    private readonly Rng _rng = new(2024);

    private float[] Random(int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = scale * _rng.NextGaussian();
        return a;
    }

    private DeviceBuffer<float> Upload(float[] data) { var b = _cpu.Allocate<float>(data.Length); _cpu.Upload<float>(data, b); return b; }

    /// <summary>An output buffer prefilled with NaN, so an element a kernel forgets to write (or adds to) shows up.</summary>
    private DeviceBuffer<float> Output(int n) => Upload(Enumerable.Repeat(float.NaN, n).ToArray());

    private float[] Download(DeviceBuffer<float> b) { var a = new float[b.Length]; _cpu.Download(b, a.AsSpan()); return a; }

    private static void Near(double[] expected, float[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        // Relative to the array's scale as well as the element's, since gradients mix large and near-zero entries.
        double scaleOf = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(scaleOf, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 17)]
    [InlineData(64, 64)]
    [InlineData(65, 1)]
    [InlineData(65, 64)]
    [InlineData(130, 17)]
    [InlineData(130, 64)]
    [InlineData(130, 300)] // head size large enough to shrink the key block
    [InlineData(130, 600)] // and the query block, to an odd size
    public void CausalAttention_MatchesExplicitSoftmaxInDouble(int seq, int headDim)
    {
        const int heads = 3;
        int n = heads * seq * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        float[] q = Random(n, 2f), k = Random(n), v = Random(n), dOut = Random(n);
        var (o, lse, dq, dk, dv) = Reference(q, k, v, dOut, heads, seq, headDim, scale);

        DeviceBuffer<float> qb = Upload(q), kb = Upload(k), vb = Upload(v), dob = Upload(dOut);
        DeviceBuffer<float> ob = Output(n), lseb = Output(heads * seq), dqb = Output(n), dkb = Output(n), dvb = Output(n);
        _cpu.CausalAttention(qb, kb, vb, ob, lseb, heads, 1, seq, headDim, scale);
        Near(o, Download(ob), 1e-5, "output");
        Near(lse, Download(lseb), 1e-6, "logsumexp");
        _cpu.CausalAttentionBackward(qb, kb, vb, ob, lseb, dob, dqb, dkb, dvb, heads, 1, seq, headDim, scale);
        Near(dq, Download(dqb), 1e-5, "dq");
        Near(dk, Download(dkb), 1e-5, "dk");
        Near(dv, Download(dvb), 1e-5, "dv");

        // Same inputs, same bits: nothing depends on thread timing or on what the outputs held before.
        float[] o1 = Download(ob), dq1 = Download(dqb), dk1 = Download(dkb), dv1 = Download(dvb);
        _cpu.CausalAttention(qb, kb, vb, ob, lseb, heads, 1, seq, headDim, scale);
        _cpu.CausalAttentionBackward(qb, kb, vb, ob, lseb, dob, dqb, dkb, dvb, heads, 1, seq, headDim, scale);
        Assert.Equal(o1, Download(ob));
        Assert.Equal(dq1, Download(dqb));
        Assert.Equal(dk1, Download(dkb));
        Assert.Equal(dv1, Download(dvb));
    }

    /// <summary>Forward and backward from the explicit probability matrix P of each head, in double.</summary>
    private static (double[] O, double[] Lse, double[] Dq, double[] Dk, double[] Dv) Reference(
        float[] q, float[] k, float[] v, float[] dOut, int heads, int seq, int d, float scale)
    {
        int n = heads * seq * d;
        double[] o = new double[n], lse = new double[heads * seq], dq = new double[n], dk = new double[n], dv = new double[n];
        var p = new double[seq, seq];
        var dS = new double[seq, seq];
        for (int h = 0; h < heads; h++)
        {
            int b = h * seq * d;
            double Dot(float[] x, int i, float[] y, int j)
            {
                double sum = 0;
                for (int c = 0; c < d; c++) sum += (double)x[b + i * d + c] * y[b + j * d + c];
                return sum;
            }
            for (int i = 0; i < seq; i++)
            {
                double max = double.NegativeInfinity, total = 0;
                for (int j = 0; j <= i; j++) max = Math.Max(max, scale * Dot(q, i, k, j));
                for (int j = 0; j < seq; j++) total += p[i, j] = j <= i ? Math.Exp(scale * Dot(q, i, k, j) - max) : 0;
                for (int j = 0; j <= i; j++) p[i, j] /= total;
                lse[h * seq + i] = max + Math.Log(total);
                for (int c = 0; c < d; c++)
                    for (int j = 0; j <= i; j++) o[b + i * d + c] += p[i, j] * v[b + j * d + c];
            }
            // dP = dO Vᵀ; dS = P ∘ (dP - rowsum(P ∘ dP)); dQ = scale dS K; dK = scale dSᵀ Q; dV = Pᵀ dO.
            for (int i = 0; i < seq; i++)
            {
                double rowSum = 0;
                for (int j = 0; j <= i; j++) rowSum += p[i, j] * Dot(dOut, i, v, j);
                for (int j = 0; j < seq; j++) dS[i, j] = j <= i ? p[i, j] * (Dot(dOut, i, v, j) - rowSum) : 0;
            }
            for (int i = 0; i < seq; i++)
                for (int j = 0; j <= i; j++)
                    for (int c = 0; c < d; c++)
                    {
                        dq[b + i * d + c] += scale * dS[i, j] * k[b + j * d + c];
                        dk[b + j * d + c] += scale * dS[i, j] * q[b + i * d + c];
                        dv[b + j * d + c] += p[i, j] * dOut[b + i * d + c];
                    }
        }
        return (o, lse, dq, dk, dv);
    }

    [Fact]
    public void CrossEntropy_AtVocabularyWidthWithExtremeLogits()
    {
        const int vocab = 50257, rows = 6;
        var logits = new float[rows * vocab];
        for (int c = 0; c < vocab; c++)
        {
            logits[0 * vocab + c] = 80f * (2 * _rng.NextFloat() - 1);   // uniform in [-80, 80]
            logits[1 * vocab + c] = -80f + 160f * c / vocab;            // increasing: the running max grows at every step
            logits[2 * vocab + c] = c == 12345 ? 80f : -80f;            // one spike: the rest underflow to zero
            logits[3 * vocab + c] = 80f;                                // all equal and large
            logits[4 * vocab + c] = c % 3 == 0 ? float.NegativeInfinity : 5f * _rng.NextGaussian(); // exp(-inf) = 0
            logits[5 * vocab + c] = 80f * (2 * _rng.NextFloat() - 1);   // masked row
        }
        int[] targets = [7, vocab - 1, 12345, 0, 1, 3];
        float[] mask = [1, 1, 1, 1, 1, 0];
        float[] dLoss = [1f, -0.5f, 2f, 0.25f, 1f, 1f];
        var t = _cpu.Allocate<int>(rows);
        _cpu.Upload<int>(targets, t);
        DeviceBuffer<float> lb = Upload(logits), mb = Upload(mask), losses = Output(rows), lse = Output(rows), dLogits = Output(rows * vocab);
        _cpu.CrossEntropy(lb, t, mb, losses, lse, rows, vocab);
        _cpu.CrossEntropyBackward(lb, t, mb, lse, Upload(dLoss), dLogits, rows, vocab);
        float[] gotLoss = Download(losses), gotLse = Download(lse), gotGrad = Download(dLogits);
        for (int r = 0; r < rows; r++)
        {
            var row = logits.AsSpan(r * vocab, vocab);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float x in row) max = Math.Max(max, x);
            foreach (float x in row) sum += Math.Exp(x - max);
            double expectLse = max + Math.Log(sum);
            Assert.True(Math.Abs(expectLse - gotLse[r]) <= 2e-6 * Math.Abs(expectLse) + 1e-6, $"row {r}: lse {gotLse[r]}, expected {expectLse}");
            double expectLoss = mask[r] == 0 ? 0 : expectLse - row[targets[r]];
            Assert.True(Math.Abs(expectLoss - gotLoss[r]) <= 2e-5 * Math.Max(1, Math.Abs(expectLse)), $"row {r}: loss {gotLoss[r]}, expected {expectLoss}");
            var expectGrad = new double[vocab];
            if (mask[r] != 0)
            {
                for (int c = 0; c < vocab; c++) expectGrad[c] = dLoss[r] * Math.Exp(row[c] - expectLse);
                expectGrad[targets[r]] -= dLoss[r];
            }
            Near(expectGrad, gotGrad.AsSpan(r * vocab, vocab).ToArray(), 1e-5, $"row {r} dlogits");
        }
    }

    [Fact]
    public void Exp_MatchesMathExpOverTheFloatRange()
    {
        var x = new List<float> { float.NegativeInfinity, float.PositiveInfinity, float.NaN, float.MinValue, float.MaxValue, 0f, -0f };
        for (float v = -110f; v <= 95f; v += 0.0371f) x.Add(v);
        while (x.Count % System.Numerics.Vector<float>.Count != 0) x.Add(1f);
        var input = x.ToArray();
        for (int i = 0; i < input.Length; i += System.Numerics.Vector<float>.Count)
        {
            var e = CpuExp.Exp(new System.Numerics.Vector<float>(input, i));
            for (int l = 0; l < System.Numerics.Vector<float>.Count; l++)
            {
                float v = input[i + l];
                double expect = Math.Exp(v);
                float got = e[l];
                if (double.IsNaN(expect)) Assert.True(float.IsNaN(got), $"exp({v}) = {got}");
                else if (v > 88.37f) Assert.Equal(float.PositiveInfinity, got);
                else if (v < -87.33f) Assert.Equal(0f, got); // below float's normal range: flushed
                else Assert.True(Math.Abs(got - expect) <= 2e-7 * expect, $"exp({v}) = {got}, expected {expect}");
            }
        }
    }
}
