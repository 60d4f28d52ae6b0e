using HardFocus.Training.Plots;
using ScottPlot;
using SkiaSharp;

namespace HardFocus.Tests;

/// <summary>A temporary folder, deleted with everything in it when disposed.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("hardfocus-plots-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public class PlotTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The file is a PNG that decodes to the given size, and its title band holds dark (text) pixels.</summary>
    internal static void AssertChart(string path, int width = Charts.DefaultWidth, int height = Charts.DefaultHeight)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, bytes[..8]);
        using var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.Equal((width, height), (bitmap.Width, bitmap.Height));
        int dark = 0;
        for (int y = 0; y < 35; y++)
            for (int x = width / 4; x < 3 * width / 4; x++)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Red + c.Green + c.Blue < 3 * 100) dark++;
            }
        Assert.True(dark > 50, $"{path}: the title band has {dark} dark pixels; the title text did not render.");
        Assert.Empty(Directory.GetFiles(System.IO.Path.GetDirectoryName(path)!, "*.tmp"));
    }

    private static float[] Losses(int n, int seed = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(2 + 3 * rng.NextDouble())).ToArray();
    }

    private static double[] Softmax(float[] losses, double lambda)
    {
        double max = losses.Max();
        var e = losses.Select(l => Math.Exp((l - max) / lambda)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    [Fact]
    public void EmbeddedFont_ServesTextWithoutSystemFonts()
    {
        ChartFont.Register();
        var regular = ScottPlot.Fonts.GetTypeface(ChartFont.Name, bold: false, italic: false);
        var bold = ScottPlot.Fonts.GetTypeface(ChartFont.Name, bold: true, italic: false);
        Assert.Same(ChartFont.Typeface(FontWeight.Normal), regular);
        Assert.Same(ChartFont.Typeface(FontWeight.Bold), bold);
        Assert.Equal("DejaVu Sans", regular.FamilyName);
        Assert.True(regular.ContainsGlyphs("loss λ ± 0123456789"));
        Assert.True(bold.FontStyle.Weight >= (int)SKFontStyleWeight.Bold);
    }

    [Fact]
    public void LossHistogram_WithSpans_WritesPng()
    {
        using var dir = new TempFolder();
        var losses = Losses(64);
        var sorted = losses.OrderByDescending(l => l).ToArray();
        Charts.LossHistogram(dir.File("hist.png"), "MidRanking frac 0.25 portion 1", losses,
            [(sorted[15], sorted[0], "dropped (hardest 25%)"), (sorted[31], sorted[15], "kept (next 25%)")]);
        AssertChart(dir.File("hist.png"));
    }

    [Fact]
    public void LossHistogram_OverlaidGroups_AtRequestedSize()
    {
        using var dir = new TempFolder();
        Charts.LossHistogram(dir.File("nested/hist.png"), "first and last", [("early", Losses(40, 1)), ("late", Losses(40, 2))], width: 640, height: 400);
        AssertChart(dir.File("nested/hist.png"), 640, 400);
    }

    [Fact]
    public void LossHistogram_EdgeCases_AllEqualSingleAndNonFinite()
    {
        using var dir = new TempFolder();
        Charts.LossHistogram(dir.File("equal.png"), "all equal", [2.5f, 2.5f, 2.5f, 2.5f]);
        AssertChart(dir.File("equal.png"));
        Charts.LossHistogram(dir.File("one.png"), "one sample", [3f]);
        AssertChart(dir.File("one.png"));
        Charts.LossHistogram(dir.File("nan.png"), "with NaN", [1f, float.NaN, 2f, float.PositiveInfinity, 3f]);
        AssertChart(dir.File("nan.png"));
    }

    [Fact]
    public void WeightVsLoss_SeveralLambdas_LinearAndLog()
    {
        using var dir = new TempFolder();
        var losses = Losses(32);
        var series = new[] { 0.5, 1.0, 4.0 }.Select(l => ($"IR-DRO λ = {l}", losses, Softmax(losses, l))).ToList();
        // MidRanking's zero weights cannot sit on a log axis: they are left out there, kept on the linear one.
        series.Add(("MidRanking", losses, losses.Select((_, i) => i < 8 ? 1.0 / 8 : 0).ToArray()));
        Charts.WeightVsLoss(dir.File("linear.png"), "weights", series);
        AssertChart(dir.File("linear.png"));
        Charts.WeightVsLoss(dir.File("log.png"), "weights", series, logY: true);
        AssertChart(dir.File("log.png"));
    }

    [Fact]
    public void WeightVsLoss_MismatchedLengths_IsAnError()
    {
        using var dir = new TempFolder();
        Assert.Throws<ArgumentException>(() => Charts.WeightVsLoss(dir.File("bad.png"), "bad", [("x", new float[3], new double[2])]));
        Assert.False(File.Exists(dir.File("bad.png")));
    }

    [Fact]
    public void Lines_ManyPointsSinglePointAndLog()
    {
        using var dir = new TempFolder();
        var steps = Enumerable.Range(1, 200).Select(i => (double)i).ToArray();
        Charts.Lines(dir.File("lines.png"), "loss", "step", "loss",
            [new("ERM", steps, steps.Select(s => 2 + 3 * Math.Exp(-s / 50)).ToArray()), new("IR-DRO", steps, steps.Select(s => 2.1 + 3 * Math.Exp(-s / 40)).ToArray())]);
        AssertChart(dir.File("lines.png"));
        Charts.Lines(dir.File("log.png"), "loss", "step", "loss", [new("ERM", steps, steps.Select(s => 2 + 3 * Math.Exp(-s / 50)).ToArray())], logY: true);
        AssertChart(dir.File("log.png"));
        Charts.Lines(dir.File("one.png"), "one point", "step", "loss", [new("only", [1], [2.5])], logY: true);
        AssertChart(dir.File("one.png"));
        Charts.Lines(dir.File("nan.png"), "gaps", "step", "loss", [new("diverged", [1, 2, 3, 4], [2, double.NaN, double.PositiveInfinity, 1.5]), new("empty", [], [])]);
        AssertChart(dir.File("nan.png"));
    }

    [Fact]
    public void Bars_ShortAndLongNames()
    {
        using var dir = new TempFolder();
        Charts.Bars(dir.File("short.png"), "perplexity", "perplexity", [new("ERM", 11.0, 0.2), new("IR-DRO", 10.8, 0.3)]);
        AssertChart(dir.File("short.png"));
        Charts.Bars(dir.File("long.png"), "perplexity", "perplexity",
            [.. Enumerable.Range(0, 8).Select(i => new BarGroup($"IR-DRO lambda {i * 0.5 + 0.5} patience 4 seed mean", 11 - 0.1 * i, 0.1 * i))]);
        AssertChart(dir.File("long.png"));
        Charts.Bars(dir.File("one.png"), "one", "perplexity", [new("ERM", 11.0, double.NaN)]);
        AssertChart(dir.File("one.png"));
    }

    [Fact]
    public void LogAxis_LabelsSeveralTicksInsideADecade()
    {
        var (lo, hi, majors, minors) = LogAxis.Layout(2.2, 5.6);
        var labels = majors.Select(t => t.Label).ToList();
        Assert.True(labels.Count >= 4, string.Join(", ", labels));
        Assert.Contains("3", labels);
        Assert.Contains("5", labels);
        Assert.NotEmpty(minors);
        Assert.InRange(Math.Pow(10, lo), 2.0, 2.2);
        Assert.InRange(Math.Pow(10, hi), 5.6, 6.2);
        Assert.All(majors.Select(t => t.Position).Concat(minors), p => Assert.InRange(p, lo, hi));
        Assert.Empty(majors.Select(t => t.Position).Intersect(minors));

        (_, _, majors, _) = LogAxis.Layout(1e-4, 0.5);
        Assert.Equal(["0.0001", "0.001", "0.01", "0.1"], majors.Select(t => t.Label));

        (lo, hi, majors, _) = LogAxis.Layout(2.5, 2.5); // one point still gets a range and labels
        Assert.True(lo < hi);
        Assert.True(majors.Count >= 2);
    }
}
