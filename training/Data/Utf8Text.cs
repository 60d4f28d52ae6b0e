using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace HardFocus.Training.Data;

/// <summary>What reading a corpus does with bytes that are not UTF-8.</summary>
public enum EncodingErrors
{
    /// <summary>Refuse the file, naming it and the byte offset: a Latin-1 or UTF-16 file read as UTF-8 would train on noise.</summary>
    Strict,
    /// <summary>Decode each invalid sequence as U+FFFD, as .NET's readers do by default.</summary>
    Replace,
}

/// <summary>Text files read as UTF-8, strictly unless asked otherwise. A UTF-8 byte order mark is skipped either way.</summary>
internal static class Utf8Text
{
    /// <summary>Throws on invalid bytes; its preamble (the BOM) lets StreamReader skip a leading byte order mark.</summary>
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true);

    /// <summary>The whole file. <paramref name="canReplace"/> says whether the error line may suggest --encoding-errors
    /// replace (it may not where no such option exists, as for multiple-choice files).</summary>
    public static string ReadAll(string path, EncodingErrors errors, bool canReplace = true)
    {
        // Replace is exactly what the code did before the option existed, so runs from then read the same text.
        if (errors == EncodingErrors.Replace) return File.ReadAllText(path);
        try
        {
            using var reader = new StreamReader(path, Strict, detectEncodingFromByteOrderMarks: false);
            return reader.ReadToEnd();
        }
        catch (DecoderFallbackException) { throw Invalid(path, canReplace); }
    }

    /// <summary>The lines of <paramref name="path"/>, lazily.</summary>
    public static IEnumerable<string> ReadLines(string path, EncodingErrors errors, bool canReplace = true)
    {
        if (errors == EncodingErrors.Replace)
        {
            foreach (var line in File.ReadLines(path)) yield return line;
            yield break;
        }
        using var reader = new StreamReader(path, Strict, detectEncodingFromByteOrderMarks: false);
        while (true)
        {
            string? line;
            try { line = reader.ReadLine(); }
            catch (DecoderFallbackException) { throw Invalid(path, canReplace); }
            if (line == null) yield break;
            yield return line;
        }
    }

    /// <summary>One line naming the file, the line and the first bad byte. The decoder's own exception cannot say where:
    /// StreamReader decodes ahead in blocks, so the file is scanned again to find the place.</summary>
    private static InvalidDataException Invalid(string path, bool canReplace)
    {
        var (offset, line) = FirstInvalidByte(path);
        string hint = offset == 0 && StartsWithUtf16Mark(path) ? " (it starts with a UTF-16 byte order mark; save it as UTF-8)" : "";
        string replace = canReplace ? "; give --encoding-errors replace to read bad bytes as U+FFFD" : "";
        return new InvalidDataException($"{path}:{line}: not valid UTF-8 at byte {offset}{hint}{replace}.");
    }

    private static bool StartsWithUtf16Mark(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        return stream.ReadAtLeast(head, 2, throwOnEndOfStream: false) == 2 && (head is [0xFF, 0xFE] || head is [0xFE, 0xFF]);
    }

    private const int Block = 1 << 16;

    /// <summary>The offset of the first byte that does not belong to valid UTF-8 and its 1-based line, or (-1, lines + 1)
    /// when the whole file is valid.</summary>
    internal static (long Offset, long Line) FirstInvalidByte(string path)
    {
        using var stream = File.OpenRead(path);
        var bytes = ArrayPool<byte>.Shared.Rent(Block);
        var chars = ArrayPool<char>.Shared.Rent(Block);
        try
        {
            long offset = 0, line = 1;
            int carried = 0;
            while (true)
            {
                int n = carried + stream.ReadAtLeast(bytes.AsSpan(carried, Block - carried), Block - carried, throwOnEndOfStream: false);
                bool final = n < Block;
                var status = Utf8.ToUtf16(bytes.AsSpan(0, n), chars.AsSpan(0, Block), out int read, out _, replaceInvalidSequences: false, isFinalBlock: final);
                line += bytes.AsSpan(0, read).Count((byte)'\n');
                if (status == OperationStatus.InvalidData) return (offset + read, line);
                if (final) return (-1, line);
                // NeedMoreData: a sequence runs past the block; carry its bytes into the next read.
                offset += read;
                carried = n - read;
                bytes.AsSpan(read, carried).CopyTo(bytes);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<char>.Shared.Return(chars);
        }
    }
}
