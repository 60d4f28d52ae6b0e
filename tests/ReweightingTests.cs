using HardFocus.Training;
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
        Assert.Throws<ArgumentOutOfRangeException>(() => new Cvar(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Cvar(1.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrimmedIrdro(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrimmedIrdro(1, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrimmedIrdro(0, 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Midloss(double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RunningIrdro(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReweighterFactory.Create(new TrainOptions { Reweight = (ReweightMethod)99 }));
    }

    [Theory]
    [InlineData(ReweightMethod.Erm, typeof(Erm))]
    [InlineData(ReweightMethod.Midrank, typeof(MidRanking))]
    [InlineData(ReweightMethod.Irdro, typeof(IrDro))]
    [InlineData(ReweightMethod.Cvar, typeof(Cvar))]
    [InlineData(ReweightMethod.TrimmedIrdro, typeof(TrimmedIrdro))]
    [InlineData(ReweightMethod.Midloss, typeof(Midloss))]
    [InlineData(ReweightMethod.RunningIrdro, typeof(RunningIrdro))]
    public void Factory_BuildsTheRequestedReweighter_WithItsOptions(ReweightMethod method, Type expected)
    {
        var options = new TrainOptions { Reweight = method, Lambda = 0.7, Frac = 0.25, Portion = 2, Alpha = 0.4, Trim = 0.3 };
        var reweighter = ReweighterFactory.Create(options);
        Assert.IsType(expected, reweighter);
        switch (reweighter)
        {
            case MidRanking m: Assert.Equal((0.25, 2), (m.Fraction, m.Portion)); break;
            case IrDro d: Assert.Equal(0.7, d.Lambda); break;
            case Cvar c: Assert.Equal(0.4, c.Alpha); break;
            case TrimmedIrdro t: Assert.Equal((0.7, 0.3), (t.Lambda, t.Trim)); break;
            case Midloss m: Assert.Equal(0.7, m.Lambda); break;
            case RunningIrdro r: Assert.Equal(0.7, r.Lambda); break;
        }
    }

    [Theory]
    [InlineData(ReweightMethod.Irdro)]
    [InlineData(ReweightMethod.Cvar)]
    [InlineData(ReweightMethod.TrimmedIrdro)]
    [InlineData(ReweightMethod.Midloss)]
    [InlineData(ReweightMethod.RunningIrdro)]
    public void NonFiniteLosses_AreAnError(ReweightMethod method)
    {
        var reweighter = ReweighterFactory.Create(new TrainOptions { Reweight = method });
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var error = Assert.Throws<InvalidOperationException>(() => reweighter.Weights([1f, bad, 2f, 3f]));
            Assert.Contains("non-finite", error.Message);
        }
    }

    // ---- CVaR ------------------------------------------------------------------------------------------------

    [Theory]
    // Pool in descending loss order: 3, 6, 0, 5, 1, 2, 4, 7 (n = 8).
    [InlineData(0.25, new[] { 3, 6 }, new[] { 0.5, 0.5 })]                        // alpha n = 2: two at the cap
    [InlineData(0.3, new[] { 3, 6, 0 }, new[] { 5.0 / 12, 5.0 / 12, 1.0 / 6 })]    // alpha n = 2.4: cap 1/2.4, remainder 1/6
    [InlineData(0.1, new[] { 3 }, new[] { 1.0 })]                                 // alpha n = 0.8 < 1: all on the hardest
    [InlineData(0.9, new[] { 3, 6, 0, 5, 1, 2, 4, 7 }, new[] { 5.0 / 36, 5.0 / 36, 5.0 / 36, 5.0 / 36, 5.0 / 36, 5.0 / 36, 5.0 / 36, 1.0 / 36 })]
    public void Cvar_FillsTheHardestAtTheCapAndGivesTheNextTheRemainder(double alpha, int[] indices, double[] expected)
    {
        float[] losses = [6f, 4f, 3f, 9f, 2f, 5f, 8f, 1f];
        var w = new Cvar(alpha).Weights(losses);
        var want = new double[losses.Length];
        for (int j = 0; j < indices.Length; j++) want[indices[j]] = expected[j];
        for (int i = 0; i < w.Length; i++) Assert.Equal(want[i], w[i], 12);
    }

    [Fact]
    public void Cvar_WithAnIntegerTail_EqualsMidRankingPortionZero_AndAlphaOneIsErm()
    {
        float[] losses = [6f, 4f, 3f, 9f, 2f, 5f, 8f, 1f];
        Assert.Equal(new MidRanking(0.5, 0).Weights(losses), new Cvar(0.5).Weights(losses));
        Assert.All(new Cvar(1).Weights(losses), x => Assert.Equal(1.0 / 8, x, 15));
    }

    [Fact]
    public void Cvar_ObjectiveIsTheRockafellarUryasevMinimum()
    {
        // CVaR_alpha = min over t of t + sum_i max(l_i - t, 0) / (alpha n), a formula independent of sorting; the
        // minimum is attained at one of the losses. The weights must reach it without breaking the cap.
        var rng = new HardFocus.Engine.Rng(9);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = 1 + rng.NextInt(12);
            var losses = Enumerable.Range(0, n).Select(_ => (float)rng.NextInt(7)).ToArray(); // small integers: many ties
            double alpha = (1 + rng.NextInt(100)) / 100.0;
            var w = new Cvar(alpha).Weights(losses);
            double cvar = losses.Min(t => t + losses.Sum(l => Math.Max(l - t, 0.0)) / (alpha * n));
            Assert.Equal(cvar, w.Select((x, i) => x * losses[i]).Sum(), 9);
            Assert.Equal(1.0, w.Sum(), 12);
            Assert.All(w, x => Assert.InRange(x, 0, Math.Max(1, 1 / (alpha * n)) + 1e-12));
        }
    }

    [Fact]
    public void Cvar_TiesKeepPoolOrder_AndADecimalAlphaCountsWholeSamples()
    {
        var w = new Cvar(0.6).Weights([2f, 2f, 2f, 1f]); // alpha n = 2.4: the first two 2s at the cap, the third gets 1/6
        double[] expected = [1 / 2.4, 1 / 2.4, 1.0 / 6, 0];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], w[i], 12);
        // 0.3 * 10 is 3.0000000000000004 in binary: still exactly three samples, not a fourth with weight 1e-16.
        var ten = new Cvar(0.3).Weights(Enumerable.Range(0, 10).Select(i => (float)i).ToArray());
        Assert.Equal([7, 8, 9], Enumerable.Range(0, 10).Where(i => ten[i] > 0));
        // 0.29 * 100 is 28.999999999999996: 29 samples.
        Assert.Equal(29, new Cvar(0.29).Weights(Enumerable.Range(0, 100).Select(i => (float)i).ToArray()).Count(x => x > 0));
    }

    // ---- trimmed IR-DRO --------------------------------------------------------------------------------------

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 12);
    }

    private static double[] SoftmaxOver(float[] losses, double lambda, params int[] kept)
    {
        var w = new double[losses.Length];
        double z = kept.Sum(i => Math.Exp(losses[i] / lambda));
        foreach (int i in kept) w[i] = Math.Exp(losses[i] / lambda) / z;
        return w;
    }

    [Theory]
    [InlineData(0.0, new[] { 0, 1, 2, 3, 4 })]   // nothing dropped: plain IR-DRO
    [InlineData(0.2, new[] { 0, 1, 2, 4 })]      // m = 1: the 4.0 goes
    [InlineData(0.5, new[] { 1, 2, 4 })]         // m = floor(2.5) = 2: 4.0 and 2.5 go
    [InlineData(0.9, new[] { 1 })]               // m = 4: only the easiest is left
    [InlineData(0.9999999999, new[] { 1 })]      // trim n rounds to n, but one sample always stays
    public void TrimmedIrdro_IsSoftmaxOverTheLossesLeftAfterDroppingTheTop(double trim, int[] kept)
    {
        float[] losses = [2.5f, 0.5f, 1.0f, 4.0f, 1.5f];
        foreach (double lambda in new[] { 0.3, 1.0, 5.0 })
        {
            AssertClose(SoftmaxOver(losses, lambda, kept), new TrimmedIrdro(lambda, trim).Weights(losses));
        }
    }

    [Fact]
    public void TrimmedIrdro_DropsTheEarlierOfTiedLosses()
    {
        float[] losses = [3f, 3f, 1f];
        var w = new TrimmedIrdro(1, 0.34).Weights(losses); // m = floor(1.02) = 1
        Assert.Equal(0, w[0]);
        AssertClose(SoftmaxOver(losses, 1, 1, 2), w);
    }

    // ---- mid-loss (Sow et al., ICLR 2025) --------------------------------------------------------------------

    [Fact]
    public void Midloss_IsSoftmaxOfOneMinusTheSquaredMinMaxPosition()
    {
        // Losses 1, 2, 3, 5 sit at u = -1, -0.5, 0, 1 of the range [1, 5], so the scores 1 - u^2 are 0, 0.75, 1, 0.
        float[] losses = [1f, 2f, 3f, 5f];
        double[] scores = [0, 0.75, 1, 0];
        foreach (double lambda in new[] { 0.1, 0.5, 2.0 })
        {
            var w = new Midloss(lambda).Weights(losses);
            double z = scores.Sum(f => Math.Exp(f / lambda));
            for (int i = 0; i < losses.Length; i++) Assert.Equal(Math.Exp(scores[i] / lambda) / z, w[i], 12);
        }
        // Both ends score 0, so the easiest and the hardest get the same (smallest) weight; small lambda picks the middle.
        Assert.Equal(1.0, new Midloss(1e-3).Weights(losses)[2], 9);
        Assert.Equal(1.0, new Midloss(1e-3).Weights([9f, 3f, 0f, 5f, 7f])[3], 9); // 5 is nearest the middle, 4.5
    }

    [Fact]
    public void Midloss_EqualLossesGiveUniformWeights_AndTinyRangesAreNotBlownUp()
    {
        Assert.All(new Midloss(0.01).Weights([2.5f, 2.5f, 2.5f]), x => Assert.Equal(1.0 / 3, x, 15));
        // A range below 1e-6 is divided by 1e-6, not by itself: u stays small and the weights stay near uniform.
        float[] close = [1f, 1f + 2 * 1.1920929e-7f];
        double u = ((double)close[1] - close[0]) / 1e-6; // |u| of both ends, about 0.24
        double score = 1 - u * u;
        Assert.All(new Midloss(1).Weights(close), x => Assert.Equal(0.5, x, 12));
        var three = new Midloss(0.1).Weights([close[0], (close[0] + close[1]) / 2, close[1]]);
        double zc = 2 * Math.Exp(score / 0.1) + Math.Exp(1 / 0.1);
        Assert.Equal(Math.Exp(1 / 0.1) / zc, three[1], 9);
    }

    // ---- running IR-DRO --------------------------------------------------------------------------------------

    [Fact]
    public void RunningIrdro_DividesLambdaByTheBiasCorrectedAverageSpread()
    {
        var r = new RunningIrdro(0.5);
        // Pool 1 has population standard deviation 1; after bias correction the estimate is exactly that.
        float[] first = [1f, 3f];
        var w1 = r.Weights(first);
        Assert.Equal(1.0, r.Spread, 12);
        AssertClose(SoftmaxOver(first, 0.5 * 1.0, 0, 1), w1);
        // Pool 2 has standard deviation sqrt(2): s_2 = (0.9 * 0.1 * 1 + 0.1 * sqrt 2) / (1 - 0.9^2).
        float[] second = [0f, 4f, 2f, 2f];
        var w2 = r.Weights(second);
        double s2 = (0.09 + 0.1 * Math.Sqrt(2)) / 0.19;
        Assert.Equal(s2, r.Spread, 12);
        AssertClose(SoftmaxOver(second, 0.5 * s2, 0, 1, 2, 3), w2);
    }

    [Fact]
    public void RunningIrdro_DoesNotCareAboutTheLossScale()
    {
        // Plain IR-DRO focuses harder when losses are scaled up; the running version divides the scale back out.
        var rng = new HardFocus.Engine.Rng(5);
        var pools = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 5).Select(_ => rng.NextInt(64) / 8f).ToArray()).ToList();
        RunningIrdro plain = new(0.7), scaled = new(0.7);
        foreach (var pool in pools)
        {
            var a = plain.Weights(pool);
            var b = scaled.Weights(pool.Select(l => 4 * l).ToArray());
            for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 12);
        }
    }

    [Fact]
    public void RunningIrdro_ZeroSpreadIsUniform()
    {
        var r = new RunningIrdro(0.1);
        Assert.All(r.Weights([2f, 2f, 2f, 2f]), x => Assert.Equal(0.25, x, 15));
        Assert.Equal(0, r.Spread);
        Assert.All(r.Weights([7f]), x => Assert.Equal(1.0, x));
    }

    [Fact]
    public void RunningIrdro_StateRoundTripsAndContinuesIdentically()
    {
        float[][] pools = [[1f, 3f, 2f], [0.5f, 0.25f, 4f], [2f, 2f, 9f], [1f, 1.5f, 1.25f]];
        var straight = new RunningIrdro(0.4);
        foreach (var pool in pools[..2]) straight.Weights(pool);
        var saved = straight.SaveState();
        Assert.Equal(2, saved[0]);

        var resumed = new RunningIrdro(0.4);
        resumed.LoadState(saved);
        foreach (var pool in pools[2..]) Assert.Equal(straight.Weights(pool), resumed.Weights(pool));

        Assert.Throws<InvalidDataException>(() => resumed.LoadState([1]));
        Assert.Throws<InvalidDataException>(() => resumed.LoadState([1.5, 0.2]));
        Assert.Throws<InvalidDataException>(() => resumed.LoadState([2, double.NaN]));
    }
}
