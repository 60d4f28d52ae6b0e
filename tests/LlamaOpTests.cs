using HardFocus.Engine;
using HardFocus.Engine.Autograd;

namespace HardFocus.Tests;

/// <summary>The LLaMA-family ops against direct formulas: grouped-query attention against an explicit repeat of K and V,
/// and RoPE against cos/sin computed in double at positions past any training length.</summary>
public class LlamaOpTests
{
    private readonly Rng _rng = new(12);

    private float[] Random(int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = _rng.NextGaussian();
        return a;
    }

    /// <summary>[batch, kvHeads, seq, d] to [batch, kvHeads * group, seq, d], each key/value head copied to its group.</summary>
    private static float[] Repeat(float[] x, int batch, int kvHeads, int group, int rowsPerHead)
    {
        var y = new float[x.Length * group];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < kvHeads; h++)
                for (int g = 0; g < group; g++)
                    Array.Copy(x, (b * kvHeads + h) * rowsPerHead, y, ((b * kvHeads + h) * group + g) * rowsPerHead, rowsPerHead);
        return y;
    }

    [Theory]
    [InlineData(6, 1)]
    [InlineData(6, 2)]
    [InlineData(6, 6)]
    public void GroupedQueryAttention_EqualsExplicitRepeatOfKeysAndValues(int heads, int kvHeads)
    {
        const int batch = 2, seq = 9, d = 4;
        int group = heads / kvHeads, perHead = seq * d;
        float[] q = Random(batch * heads * perHead), k = Random(batch * kvHeads * perHead), v = Random(batch * kvHeads * perHead);
        float[] dOut = Random(batch * heads * perHead);

        (float[] O, float[] Dq, float[] Dk, float[] Dv) Run(float[] kData, float[] vData, int kvCount)
        {
            using var scope = TensorScope.Begin();
            var qt = Tensor.Parameter(q, new Shape(batch, heads, seq, d));
            var kt = Tensor.Parameter(kData, new Shape(batch, kvCount, seq, d));
            var vt = Tensor.Parameter(vData, new Shape(batch, kvCount, seq, d));
            var o = Ops.CausalAttention(qt, kt, vt);
            o.Backward(Tensor.FromArray(dOut, o.Shape));
            var result = (o.ToArray(), qt.Grad!.ToArray(), kt.Grad!.ToArray(), vt.Grad!.ToArray());
            qt.Dispose(); kt.Dispose(); vt.Dispose();
            return result;
        }

        var grouped = Run(k, v, kvHeads);
        var repeated = Run(Repeat(k, batch, kvHeads, group, perHead), Repeat(v, batch, kvHeads, group, perHead), heads);
        Assert.Equal(repeated.O, grouped.O);
        Assert.Equal(repeated.Dq, grouped.Dq);
        // The repeat's gradient flows back summed over each group's copies.
        float[] SumGroups(float[] g)
        {
            var sum = new float[g.Length / group];
            for (int b = 0; b < batch; b++)
                for (int h = 0; h < kvHeads; h++)
                    for (int c = 0; c < group; c++)
                        for (int i = 0; i < perHead; i++)
                            sum[(b * kvHeads + h) * perHead + i] += g[((b * kvHeads + h) * group + c) * perHead + i];
            return sum;
        }
        AssertClose(SumGroups(repeated.Dk), grouped.Dk);
        AssertClose(SumGroups(repeated.Dv), grouped.Dv);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"[{i}]: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Rope_MatchesDirectCosSinFormula_PastTheTrainingLength()
    {
        // Positions 4000..4006 with theta 10000, far past any context this project trains at.
        const int batch = 1, heads = 2, seq = 7, d = 8, start = 4000;
        const double theta = 10000;
        float[] x = Random(batch * heads * seq * d);
        var (cos, sin) = RotaryTable.Compute(start, seq, d, (float)theta);
        using var scope = TensorScope.Begin();
        var y = Ops.Rope(Tensor.FromArray(x, new Shape(batch, heads, seq, d)), Tensor.FromArray(cos, seq, d / 2), Tensor.FromArray(sin, seq, d / 2)).ToArray();
        for (int h = 0; h < heads; h++)
            for (int p = 0; p < seq; p++)
                for (int i = 0; i < d; i++)
                {
                    // out = x cos + rotate_half(x) sin, rotate_half(x) = (-x[d/2:], x[:d/2]); angle = pos * theta^(-2 (i mod d/2) / d).
                    int pair = i % (d / 2), at = (h * seq + p) * d;
                    double angle = (start + p) * Math.Pow(theta, -2.0 * pair / d);
                    double rotated = i < d / 2 ? -x[at + i + d / 2] : x[at + i - d / 2];
                    double expected = x[at + i] * Math.Cos(angle) + rotated * Math.Sin(angle);
                    // float32 angles at position 4000 carry about 4000 * 2^-24 radians of rounding.
                    Assert.True(Math.Abs(expected - y[at + i]) < 2e-3, $"head {h} position {start + p} dim {i}: {expected} vs {y[at + i]}");
                }
    }
}
