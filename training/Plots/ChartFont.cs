using System.IO.Compression;
using ScottPlot;
using SkiaSharp;

namespace HardFocus.Training.Plots;

/// <summary>
/// The one font every chart uses, DejaVu Sans, served from this assembly. Skia's Linux build finds system fonts only
/// under /usr/share/fonts; a machine with none there (a bare container) would otherwise draw charts with no text at all,
/// and machines with different fonts would draw different charts.
/// </summary>
internal sealed class ChartFont : IFontResolver
{
    public const string Name = "DejaVu Sans";

    private static readonly Lazy<SKTypeface> Regular = new(() => Load("DejaVuSans.ttf.gz"));
    private static readonly Lazy<SKTypeface> Bold = new(() => Load("DejaVuSans-Bold.ttf.gz"));
    private static readonly Lazy<bool> Registered = new(() =>
    {
        // First in the list, so this name never resolves to a system font of the same name.
        ScottPlot.Fonts.FontResolvers.Insert(0, new ChartFont());
        ScottPlot.Fonts.Default = Name;
        return true;
    });

    /// <summary>Makes ScottPlot resolve <see cref="Name"/> to the embedded font; safe to call from any thread, any number of times.</summary>
    public static void Register() => _ = Registered.Value;

    /// <summary>The embedded typeface for a weight (bold at semi-bold and above; there is no italic, upright serves).</summary>
    public static SKTypeface Typeface(FontWeight weight) => weight >= FontWeight.SemiBold ? Bold.Value : Regular.Value;

    public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
        fontName == Name ? Typeface(weight) : null;

    public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
        CreateTypeface(fontName, bold ? FontWeight.Bold : FontWeight.Normal, FontSlant.Upright, FontSpacing.Normal);

    private static SKTypeface Load(string file)
    {
        string resource = $"HardFocus.Training.Plots.{file}";
        using var stream = typeof(ChartFont).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded font {resource} is missing from the build.");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        // FromData keeps its own copy of the bytes alive for the typeface's lifetime (the whole process here).
        return SKTypeface.FromData(SKData.CreateCopy(bytes.ToArray()))
            ?? throw new InvalidOperationException($"Skia could not read the embedded font {resource}.");
    }
}
