using System.Globalization;

namespace HardFocus.Training;

/// <summary>
/// The allowed range of one numeric option, stated once so that --help, the command-line check and the check of a
/// stored trainer.json all say the same thing. Every option has one: an unbounded count (a pool of 2e9 micro-batches,
/// 2e9 generated tokens) would only ever end in a hang or an out-of-memory crash.
/// </summary>
public sealed record OptionBound(string Option, double Min, double Max, bool IsInteger, bool AboveMin = false, bool BelowMax = false)
{
    public static OptionBound Integer(string option, long min, long max) => new(option, min, max, IsInteger: true);

    /// <summary>A real-valued range; <paramref name="aboveMin"/> and <paramref name="belowMax"/> leave out the end points.</summary>
    public static OptionBound Real(string option, double min, double max, bool aboveMin = false, bool belowMax = false) =>
        new(option, min, max, IsInteger: false, aboveMin, belowMax);

    /// <summary>"1 to 4096" for counts, interval notation such as "(0, 1]" for reals.</summary>
    public string Text => IsInteger
        ? string.Create(CultureInfo.InvariantCulture, $"{Min} to {Max}")
        : string.Create(CultureInfo.InvariantCulture, $"{(AboveMin ? '(' : '[')}{Min}, {Max}{(BelowMax ? ')' : ']')}");

    /// <summary>The option's help text with its range appended, so the range shown is the range checked.</summary>
    public string Describe(string description) => $"{description} Range: {Text}.";

    /// <summary>False for NaN, which fails every comparison.</summary>
    public bool Allows(double value) =>
        (AboveMin ? value > Min : value >= Min) && (BelowMax ? value < Max : value <= Max);

    /// <summary>Null when <paramref name="value"/> is allowed, else one line naming <paramref name="name"/> (the option, or a
    /// file's field) and the range.</summary>
    public string? Problem(string name, IConvertible value) =>
        Allows(value.ToDouble(CultureInfo.InvariantCulture)) ? null
            : $"{name} must be {(IsInteger ? "from " : "in ")}{Text}, got {value.ToString(CultureInfo.InvariantCulture)}.";

    /// <summary>Throws the one-line <see cref="Problem"/> when <paramref name="value"/> is out of range.</summary>
    public void Check(IConvertible value)
    {
        if (Problem(Option, value) is { } problem) throw new ArgumentException(problem);
    }
}
