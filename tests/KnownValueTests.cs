using HardFocus.Engine;

namespace HardFocus.Tests;

/// <summary>Forward results against values worked out by hand or from the formulas in double precision.</summary>
public class KnownValueTests
{
    private static void Near(float[] expected, float[] actual, float tol = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1f, Math.Abs(expected[i])), $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void Softmax_OfFixedVector()
    {
        var y = Ops.Softmax(Tensor.FromArray([1f, 2f, 3f], 1, 3)).ToArray();
        Near([0.09003057f, 0.24472847f, 0.66524096f], y);
    }

    [Fact]
    public void Softmax_IsShiftInvariantForHugeLogits()
    {
        var y = Ops.Softmax(Tensor.FromArray([1000f, 1001f, 1002f], 1, 3)).ToArray();
        Near([0.09003057f, 0.24472847f, 0.66524096f], y);
    }

    [Fact]
    public void LayerNorm_OfFixedRow()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 4);
        var y = Ops.LayerNorm(x, Tensor.FromArray([1f, 1f, 2f, 1f], 4), Tensor.FromArray([0f, 0f, 0f, 0.5f], 4)).ToArray();
        // mean 2.5, variance 1.25: (x - 2.5) / sqrt(1.25 + 1e-5), then gamma and beta.
        Near([-1.3416355f, -0.4472118f, 2 * 0.4472118f, 1.3416355f + 0.5f], y);
    }

    [Fact]
    public void Gelu_AtFixedPoints()
    {
        var y = Ops.Gelu(Tensor.FromArray([0f, 1f, -1f, 2f, -3f], 5)).ToArray();
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) evaluated in double.
        Near([0f, 0.8411920f, -0.1588080f, 1.9545977f, -0.0036373f], y);
    }

    [Fact]
    public void CrossEntropy_OfFixedLogitRow()
    {
        var logits = Tensor.FromArray([1f, 2f, 3f, 1f, 2f, 3f], 2, 3);
        using var targets = IndexTensor.FromArray([2, 0], new Shape(2));
        var losses = Ops.CrossEntropy(logits, targets).ToArray();
        Near([0.40760596f, 2.40760596f], losses);
    }

    [Fact]
    public void MaskedMean_IgnoresMaskedAndEmptyRows()
    {
        var x = Tensor.FromArray([1f, 2f, 30f, 4f, 5f, 6f], 2, 3);
        var mask = Tensor.FromArray([1f, 1f, 0f, 0f, 0f, 0f], 2, 3);
        Near([1.5f, 0f], Ops.MaskedMean(x, mask).ToArray());
    }

    [Fact]
    public void Attention_FirstPositionSeesOnlyItself_AndMatchesExplicitSoftmax()
    {
        var rng = new Rng(3);
        int t = 4, d = 2;
        var q = Tensor.RandomNormal(new Shape(1, 1, t, d), rng);
        var k = Tensor.RandomNormal(new Shape(1, 1, t, d), rng);
        var v = Tensor.RandomNormal(new Shape(1, 1, t, d), rng);
        var output = Ops.CausalAttention(q, k, v).ToArray();
        float[] qs = q.ToArray(), ks = k.ToArray(), vs = v.ToArray();
        for (int i = 0; i < t; i++)
        {
            var scores = new double[i + 1];
            for (int j = 0; j <= i; j++)
                scores[j] = (qs[i * d] * ks[j * d] + qs[i * d + 1] * ks[j * d + 1]) / Math.Sqrt(d);
            double max = scores.Max(), total = scores.Sum(s => Math.Exp(s - max));
            for (int c = 0; c < d; c++)
            {
                double expected = 0;
                for (int j = 0; j <= i; j++) expected += Math.Exp(scores[j] - max) / total * vs[j * d + c];
                Assert.Equal(expected, output[i * d + c], 5);
            }
        }
        Assert.Equal(vs[0], output[0], 6);
    }

    [Fact]
    public void SplitHeads_PlacesChannelsPerHead()
    {
        // [1, 2, 4] with 2 heads: position t, channel c -> head c / 2, slot c % 2.
        var x = Tensor.FromArray([0f, 1f, 2f, 3f, 10f, 11f, 12f, 13f], 1, 2, 4);
        var heads = Ops.SplitHeads(x, 2);
        Assert.Equal(new Shape(1, 2, 2, 2), heads.Shape);
        Assert.Equal([0f, 1f, 10f, 11f, 2f, 3f, 12f, 13f], heads.ToArray());
        Assert.Equal(x.ToArray(), Ops.MergeHeads(heads).ToArray());
    }

    [Fact]
    public void Dropout_KeepsAboutOneMinusP_AndScalesSurvivors()
    {
        var x = Tensor.Ones(new Shape(10000));
        var y = Ops.Dropout(x, 0.25f, seed: 11).ToArray();
        int kept = y.Count(v => v != 0f);
        Assert.InRange(kept, 7300, 7700);
        Assert.All(y, v => Assert.True(v == 0f || Math.Abs(v - 1f / 0.75f) < 1e-6f));
        Assert.Equal(y, Ops.Dropout(x, 0.25f, seed: 11).ToArray());
        Assert.NotEqual(y, Ops.Dropout(x, 0.25f, seed: 12).ToArray());
    }
}
