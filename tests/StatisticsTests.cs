using HardFocus.Training.Experiment;

namespace HardFocus.Tests;

public class StatisticsTests
{
    [Fact]
    public void Summary_IsMeanAndSampleStandardDeviation()
    {
        var s = Statistics.Summarize([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        Assert.Equal(5.0, s.Mean, 12);
        Assert.Equal(Math.Sqrt(32.0 / 7), s.StdDev, 12);
        Assert.Equal(0.0, Statistics.Summarize([3.0]).StdDev);
    }

    [Fact]
    public void PairedInterval_UsesStudentT()
    {
        // Differences 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.303.
        var d = Statistics.Paired([11.0, 12.0, 13.0], [10.0, 10.0, 10.0]);
        Assert.Equal(2.0, d.Mean, 12);
        Assert.Equal(2.0 - 4.303 / Math.Sqrt(3), d.Low, 9);
        Assert.Equal(2.0 + 4.303 / Math.Sqrt(3), d.High, 9);
        Assert.False(d.ExcludesZero);
        Assert.True(Statistics.Paired([12.0, 12.1, 11.9], [10.0, 10.0, 10.0]).ExcludesZero);
        Assert.True(Statistics.Paired([8.0, 7.9, 8.1], [10.0, 10.0, 10.0]).ExcludesZero);
        Assert.False(Statistics.Paired([5.0], [1.0]).ExcludesZero);
    }

    [Theory]
    [InlineData(1, 12.706)]
    [InlineData(5, 2.571)]
    [InlineData(30, 2.042)]
    [InlineData(40, 2.021)]
    [InlineData(100, 1.984)]
    [InlineData(1000, 1.962)]
    public void StudentQuantile_MatchesTables(int df, double expected) =>
        Assert.Equal(expected, Statistics.StudentT975(df), 3);
}
