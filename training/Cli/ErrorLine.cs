using System.Text.Json;
using HardFocus.Engine.Backends;
using HardFocus.Engine.IO;

namespace HardFocus.Training.Cli;

/// <summary>
/// Which exceptions are a problem with the user's input or files (printed as one `error:` line, exit code 2) and how
/// such an exception becomes that line. Anything else is a bug and keeps its stack trace.
/// </summary>
public static class ErrorLine
{
    public static bool IsUserFacing(Exception e) => Unwrap(e) is var inner && (inner is UserError or ArgumentException or InvalidDataException
        or IOException or SafetensorsFormatException or JsonException or InvalidOperationException or NotSupportedException or UnauthorizedAccessException
        or DeviceOutOfMemoryException
        || inner.GetType().Namespace?.StartsWith("ILGPU", StringComparison.Ordinal) == true);

    /// <summary>
    /// The message on one line. .NET appends to argument exceptions what helps a programmer, not a user: " (Parameter
    /// 'x')" and, for out-of-range values, a second line "Actual value was ...". Both are dropped, and any line break
    /// left (a file or tensor name can hold one) is shown as \n, so the output is always a single line.
    /// </summary>
    public static string Of(Exception e)
    {
        e = Unwrap(e);
        string message = e.Message;
        if (e is ArgumentOutOfRangeException { ActualValue: { } actual })
            message = StripSuffix(message, Environment.NewLine + $"Actual value was {actual}.");
        if (e is ArgumentException { ParamName: { } name })
            message = StripSuffix(message, $" (Parameter '{name}')");
        return OneLine(message);
    }

    /// <summary>Line breaks shown as \n, so what follows `error:` is one line whatever the text holds.</summary>
    public static string OneLine(string text) => text.Replace("\r\n", "\\n").Replace("\n", "\\n").Replace("\r", "\\r");

    /// <summary>The one meaningful exception inside wrappers that parallel code and reflection add.</summary>
    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is AggregateException aggregate && aggregate.Flatten().InnerExceptions is [var single]) e = single;
            else if (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
            else return e;
        }
    }

    private static string StripSuffix(string text, string suffix) =>
        text.EndsWith(suffix, StringComparison.Ordinal) ? text[..^suffix.Length] : text;
}
