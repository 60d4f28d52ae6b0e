using System.Text;

namespace HardFocus.Training.Text;

/// <summary>
/// One token per UTF-8 byte: no vocabulary file and a 256-row embedding, handy for tiny models and tests.
/// NUL doubles as the end-of-text token, so NUL characters in the text are dropped to keep it unambiguous.
/// </summary>
public sealed class ByteTokenizer : ITokenizer
{
    public string Name => "bytes";
    public int VocabSize => 256;
    public int EndOfText => 0;
    public int Padding => EndOfText;

    public int[] Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var ids = new int[bytes.Length - bytes.AsSpan().Count((byte)0)];
        int n = 0;
        foreach (byte b in bytes)
            if (b != 0) ids[n++] = b;
        return ids;
    }

    /// <summary>A model may emit byte sequences that are not UTF-8; those decode to U+FFFD rather than throw.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new byte[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] > 255) throw new ArgumentOutOfRangeException(nameof(ids), $"Token {ids[i]} at {i} is not a byte (vocabulary 256).");
            bytes[i] = (byte)ids[i];
        }
        return Encoding.UTF8.GetString(bytes);
    }
}
