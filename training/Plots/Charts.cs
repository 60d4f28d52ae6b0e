using ScottPlot;

namespace HardFocus.Training.Plots;

/// <summary>One line of a line chart: points (X[i], Y[i]).</summary>
public sealed record Series(string Name, double[] X, double[] Y);

/// <summary>One bar with an error bar of one standard deviation either side.</summary>
public sealed record BarGroup(string Name, double Mean, double StdDev);

/// <summary>
/// The project's charts, from plain arrays to PNG files, so a command or an experiment runner can draw in-process.
/// Every chart has the same look (embedded font, tab10 colours, legend beside the data); non-finite values are left out
/// rather than failing the chart, since a diverged run's logs hold them.
/// </summary>
public static class Charts
{
    public const int DefaultWidth = 900, DefaultHeight = 550;

    /// <summary>Histogram of per-sample losses; <paramref name="spans"/> shade loss ranges, such as MidRanking's dropped and kept blocks.</summary>
    public static void LossHistogram(string path, string title, float[] losses, (double From, double To, string Label)[]? spans = null,
        int width = DefaultWidth, int height = DefaultHeight) =>
        LossHistogram(path, title, [("", losses)], spans, width, height);

    /// <summary>Several loss histograms over shared bins, overlaid; each as a share of its own samples so groups of different sizes compare.</summary>
    public static void LossHistogram(string path, string title, IReadOnlyList<(string Name, float[] Losses)> groups,
        (double From, double To, string Label)[]? spans = null, int width = DefaultWidth, int height = DefaultHeight)
    {
        if (groups.Count == 0) throw new ArgumentException("A loss histogram needs at least one group of losses.");
        var plot = NewPlot(title, "per-sample loss", "share of samples");
        var values = groups.Select(g => g.Losses.Select(l => (double)l).Where(double.IsFinite).ToArray()).ToList();
        var all = values.SelectMany(v => v).ToArray();
        double min = all.Length > 0 ? all.Min() : 0, max = all.Length > 0 ? all.Max() : 1;
        // All-equal losses would give zero-width bins; centre one unit of loss on the value instead.
        if (max - min < 1e-9) (min, max) = (min - 0.5, max + 0.5);
        // About two bins per sqrt(samples): fine enough to show a shift between groups, coarse enough to stay smooth.
        int bins = Math.Clamp((int)Math.Ceiling(2 * Math.Sqrt(values.Max(v => v.Length))), 10, 50);
        double binWidth = (max - min) / bins;

        // tab10's red, green, purple and brown, faint: regions behind the bars, not confused with the first series' blue and orange.
        var spanColors = new[] { Color.FromHex("#d62728"), Color.FromHex("#2ca02c"), Color.FromHex("#9467bd"), Color.FromHex("#8c564b") };
        foreach (var (span, i) in (spans ?? []).Select((s, i) => (s, i)))
        {
            var shade = plot.Add.HorizontalSpan(span.From, span.To, spanColors[i % spanColors.Length].WithAlpha(0.15));
            shade.LineStyle.Width = 0;
            shade.LegendText = span.Label;
        }

        bool overlaid = groups.Count > 1;
        for (int g = 0; g < groups.Count; g++)
        {
            var counts = new double[bins];
            foreach (double v in values[g]) counts[Math.Min(bins - 1, (int)((v - min) / binWidth))]++;
            var color = plot.Add.Palette.GetColor(g);
            var bars = counts.Select((c, b) => new Bar
            {
                Position = min + (b + 0.5) * binWidth,
                Size = binWidth,
                Value = values[g].Length > 0 ? c / values[g].Length : 0,
                FillColor = color.WithAlpha(overlaid ? 0.5 : 0.85),
                LineColor = color,
                LineWidth = overlaid ? 1 : 0,
            }).ToList();
            var plottable = plot.Add.Bars(bars);
            plottable.LegendText = groups[g].Name;
        }
        plot.Axes.Margins(bottom: 0);
        Save(plot, path, width, height);
    }

    /// <summary>Weight against loss, one marker series per method (IR-DRO at several lambdas, say).</summary>
    public static void WeightVsLoss(string path, string title, IReadOnlyList<(string Name, float[] Losses, double[] Weights)> series,
        bool logY = false, int width = DefaultWidth, int height = DefaultHeight)
    {
        var plot = NewPlot(title, "per-sample loss", logY ? "weight, log scale" : "weight");
        var ys = new List<double>();
        for (int s = 0; s < series.Count; s++)
        {
            var (name, losses, weights) = series[s];
            if (losses.Length != weights.Length) throw new ArgumentException($"{name}: {losses.Length} losses but {weights.Length} weights.");
            var points = losses.Zip(weights, (l, w) => (X: (double)l, Y: w)).Where(p => Plottable(p.X, p.Y, logY)).ToArray();
            var markers = plot.Add.Markers(points.Select(p => p.X).ToArray(), points.Select(p => logY ? Math.Log10(p.Y) : p.Y).ToArray(),
                MarkerShape.FilledCircle, 7, plot.Add.Palette.GetColor(s).WithAlpha(0.75));
            markers.LegendText = name;
            ys.AddRange(points.Select(p => p.Y));
        }
        Finish(plot, ys, logY);
        Save(plot, path, width, height);
    }

    /// <summary>Lines over steps, one per series (effective sample size, validation loss, training loss...).</summary>
    /// <param name="yLimits">A fixed Y range (fractions in [0, 1], say) instead of one fitted to the data; ignored with <paramref name="logY"/>.</param>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, bool logY = false,
        (double Min, double Max)? yLimits = null, int width = DefaultWidth, int height = DefaultHeight)
    {
        var plot = NewPlot(title, xLabel, logY ? $"{yLabel}, log scale" : yLabel);
        var ys = new List<double>();
        for (int s = 0; s < series.Count; s++)
        {
            var (name, x, y) = series[s];
            if (x.Length != y.Length) throw new ArgumentException($"{name}: {x.Length} x values but {y.Length} y values.");
            var points = x.Zip(y).Where(p => Plottable(p.First, p.Second, logY)).ToArray();
            var line = plot.Add.ScatterLine(points.Select(p => p.First).ToArray(), points.Select(p => logY ? Math.Log10(p.Second) : p.Second).ToArray(),
                plot.Add.Palette.GetColor(s));
            line.LineWidth = 2;
            // Solid, dashed, dotted...: series that coincide (MidRanking's effective size and kept share) both stay visible.
            line.LinePattern = LinePatterns[s % LinePatterns.Length];
            // Markers only where points are few enough to tell apart; a single point needs one to be seen at all.
            line.MarkerSize = points.Length <= 40 ? 6 : 0;
            line.LegendText = name;
            ys.AddRange(points.Select(p => p.Second));
        }
        Finish(plot, ys, logY);
        if (yLimits is var (min, max) && !logY) plot.Axes.SetLimitsY(min, max);
        Save(plot, path, width, height);
    }

    private static readonly LinePattern[] LinePatterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];

    /// <summary>One bar per method with a one-standard-deviation error bar; long names get slanted tick labels.</summary>
    public static void Bars(string path, string title, string yLabel, IReadOnlyList<BarGroup> bars, int width = DefaultWidth, int height = DefaultHeight)
    {
        var plot = NewPlot(title, "", yLabel);
        var shown = bars.Select((b, i) => new Bar
        {
            Position = i,
            Value = double.IsFinite(b.Mean) ? b.Mean : 0,
            Error = double.IsFinite(b.StdDev) ? Math.Abs(b.StdDev) : 0,
            FillColor = plot.Add.Palette.GetColor(i).WithAlpha(0.85),
            LineWidth = 1.5f, // the outline's and the error bar's
            LineColor = plot.Add.Palette.GetColor(i).Darken(0.4),
            Size = 0.6,
        }).ToList();
        plot.Add.Bars(shown);
        // The numbers themselves, above each error bar, where they fit: a bar chart of close results is read for them.
        string Label(BarGroup b) => $"{Format(b.Mean)} ± {Format(Math.Abs(b.StdDev))}";
        using var measure = Paint.NewDisposablePaint();
        var valueStyle = new LabelStyle { FontSize = 12, FontName = ChartFont.Name };
        float barSlot = (width - 120f) / Math.Max(1, bars.Count);
        if (bars.Count > 0 && bars.Max(b => valueStyle.Measure(Label(b), measure).Width) < 0.95f * barSlot)
            foreach (var (bar, b) in shown.Zip(bars))
            {
                var text = plot.Add.Text(Label(b), bar.Position, bar.Value + bar.Error);
                text.LabelFontSize = 12;
                text.LabelFontName = ChartFont.Name;
                text.LabelAlignment = Alignment.LowerCenter;
                text.OffsetY = -4;
            }
        plot.Axes.Bottom.SetTicks(bars.Select((_, i) => (double)i).ToArray(), bars.Select(b => b.Name).ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        var labels = plot.Axes.Bottom.TickLabelStyle;
        labels.FontSize = 13;
        using var paint = Paint.NewDisposablePaint();
        float widest = bars.Count == 0 ? 0 : bars.Max(b => labels.Measure(b.Name, paint).Width);
        // Pixels per bar, roughly: the data area is the image less the axes and margins.
        float slot = (width - 120f) / Math.Max(1, bars.Count);
        if (widest > 0.9f * slot)
        {
            // Slanted so each name ends under its bar; the axis grows by the labels' drop (about sin 35° of their width).
            labels.Rotation = -35;
            labels.Alignment = Alignment.MiddleRight;
            plot.Axes.Bottom.MinimumSize = widest * 0.6f + 20;
        }
        // The axis holds every error bar, negative ones too, and zero: bars grow from it.
        double low = Math.Min(0, shown.Select(b => b.Value - b.Error).DefaultIfEmpty(0).Min());
        double high = Math.Max(0, shown.Select(b => b.Value + b.Error).DefaultIfEmpty(0).Max());
        double pad = 0.08 * Math.Max(high - low, 1e-12);
        plot.Axes.SetLimitsY(low < 0 ? low - pad : 0, high + pad);
        plot.Grid.XAxisStyle.IsVisible = false; // vertical lines between bars mean nothing
        Save(plot, path, width, height);
    }

    private static string Format(double v) => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);

    private static bool Plottable(double x, double y, bool logY) => double.IsFinite(x) && double.IsFinite(y) && (!logY || y > 0);

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        ChartFont.Register();
        var plot = new Plot();
        plot.Add.Palette = new ScottPlot.Palettes.Category10();
        plot.Font.Set(ChartFont.Name);
        plot.Title(title, 18);
        plot.XLabel(xLabel, 15);
        plot.YLabel(yLabel, 15);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 12;
        plot.Axes.Left.TickLabelStyle.FontSize = 12;
        // ScottPlot's default packs labels every few tens of pixels; fewer read faster.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { TickDensity = 0.6 };
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { TickDensity = 0.6 };
        plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.08);
        return plot;
    }

    /// <summary>Fits the axes to the data; a log axis also gets its ticks (the data were plotted as log10).</summary>
    private static void Finish(Plot plot, List<double> ys, bool logY)
    {
        plot.Axes.AutoScale();
        if (logY && ys.Count > 0) LogAxis.ApplyY(plot, ys.Min(), ys.Max());
    }

    private static void Save(Plot plot, string path, int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"A chart needs a positive size, got {width}x{height}.");
        if (plot.GetPlottables().Any(p => p.LegendItems.Any(i => !string.IsNullOrEmpty(i.LabelText))))
        {
            plot.ShowLegend(Edge.Right);
            plot.Legend.FontSize = 13;
            plot.Legend.FontName = ChartFont.Name;
            plot.Legend.SetBestFontOnEachRender = false; // it would swap in a system font
            plot.Legend.OutlineColor = Colors.Black.WithAlpha(0.2);
            plot.Legend.ShadowColor = Colors.Transparent;
        }
        byte[] png = plot.GetImageBytes(width, height, ImageFormat.Png);
        // Written beside the target and renamed into place, so a reader never sees half a PNG.
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temp, png);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
