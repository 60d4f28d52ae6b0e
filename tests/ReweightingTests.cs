using HardFocus.Training.Reweighting;

namespace HardFocus.Tests;

public class ReweightingTests
{
    [Fact]
    public void Erm_IsUniform()
    {
        var w = new Erm().Weights([3f, 1f, 2f, 5f]);
        Assert.All(w, x => Assert.Equal(0.25, x, 12));
    }

    [Fact]
    public void IrDro_IsSoftmaxOfLossOverLambda_AndSumsToOne()
    {
        float[] losses = [2.5f, 0.5f, 1.0f, 4.0f, 1.0f];
        foreach (double lambda in new[] { 0.1, 0.7, 1.0, 3.0 })
        {
            var w = new IrDro(lambda).Weights(losses);
            double z = losses.Sum(l => Math.Exp(l / lambda));
            for (int i = 0; i < losses.Length; i++) Assert.Equal(Math.Exp(losses[i] / lambda) / z, w[i], 12);
            Assert.Equal(1.0, w.Sum(), 12);
        }
    }

    [Fact]
    public void IrDro_LimitsAreErmAndTheHardestSample()
    {
        float[] losses = [2.5f, 0.5f, 1.0f, 4.0f];
        Assert.All(new IrDro(1e9).Weights(losses), x => Assert.Equal(0.25, x, 6));
        var sharp = new IrDro(1e-3).Weights(losses);
        Assert.Equal(1.0, sharp[3], 9);
    }

    [Fact]
    public void IrDro_DoesNotOverflowOnLargeLosses()
    {
        var w = new IrDro(0.01).Weights([1000f, 999f]);
        Assert.True(w.All(double.IsFinite));
        Assert.Equal(1.0, w.Sum(), 12);
    }

    [Theory]
    // n, frac, portion, expected kept indices (losses are n - index scaled, so index 0 is the hardest unless shuffled)
    [InlineData(8, 0.25, 0, new[] { 3, 6 })]
    [InlineData(8, 0.25, 1, new[] { 0, 5 })]
    [InlineData(8, 0.5, 1, new[] { 1, 2, 4, 7 })]
    [InlineData(8, 0.1, 0, new[] { 3 })]
    [InlineData(8, 0.1, 2, new[] { 0 })]
    [InlineData(8, 1.0, 0, new[] { 0, 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData(8, 0.375, 2, new[] { 4, 7 })]
    public void MidRanking_KeepsExactlyTheRankBlock(int n, double frac, int portion, int[] expected)
    {
        // Descending loss order of this pool: 3, 6, 0, 5, 1, 2, 4, 7.
        float[] losses = [6f, 4f, 3f, 9f, 2f, 5f, 8f, 1f];
        Assert.Equal(n, losses.Length);
        var w = new MidRanking(frac, portion).Weights(losses);
        var kept = Enumerable.Range(0, n).Where(i => w[i] > 0).ToArray();
        Assert.Equal(expected.Order(), kept);
        Assert.All(kept, i => Assert.Equal(1.0 / kept.Length, w[i], 12));
        Assert.Equal(1.0, w.Sum(), 12);
    }

    [Fact]
    public void MidRanking_CapIsAFractionOfThePool()
    {
        var w = new MidRanking(0.25, 1).Weights(Enumerable.Range(0, 24).Select(i => (float)i).ToArray());
        // cap = 6: ranks 6..11 by descending loss are losses 17..12.
        Assert.Equal(Enumerable.Range(12, 6), Enumerable.Range(0, 24).Where(i => w[i] > 0));
    }

    [Fact]
    public void MidRanking_EmptyBlockIsAClearError()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new MidRanking(0.5, 2).Weights([1f, 2f, 3f, 4f]));
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void BadParameters_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IrDro(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MidRanking(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MidRanking(1.5, 0));
        Assert.Throws<ArgumentException>(() => ReweighterFactory.Create("focal", 1, 0.5, 1));
    }
}
