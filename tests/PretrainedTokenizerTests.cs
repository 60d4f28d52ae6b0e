using System.Text;
using System.Text.Json.Nodes;
using HardFocus.Training.Text;

namespace HardFocus.Tests;

/// <summary>Tokenizer folders made here: a tiny byte-level BPE (vocab.json + merges.txt) and a tiny SentencePiece
/// tokenizer.model written field by field from sentencepiece_model.proto; both read by Microsoft.ML.Tokenizers.</summary>
public sealed class PretrainedTokenizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Text = "the cat sat on the mat, then the hat: café 42!";

    /// <summary>GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to code points from 256 up.</summary>
    private static char[] ByteChars()
    {
        var chars = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            chars[b] = (b is >= '!' and <= '~') || (b is >= 0xA1 and <= 0xAC) || (b is >= 0xAE and <= 0xFF) ? (char)b : (char)next++;
        return chars;
    }

    private string BpeFolder()
    {
        string folder = Path.Combine(_dir, "bpe");
        Directory.CreateDirectory(folder);
        var vocab = new JsonObject();
        foreach (char c in ByteChars()) vocab[c.ToString()] = vocab.Count;
        string[] merges = ["Ġ t", "h e", "Ġt he", "a t", "Ġ c", "Ġc at", "Ġ m", "Ġm at"];
        foreach (string merge in merges) vocab[merge.Replace(" ", "")] = vocab.Count;
        vocab["<|endoftext|>"] = vocab.Count;
        File.WriteAllText(Path.Combine(folder, "vocab.json"), vocab.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "merges.txt"), "#version: 0.2\n" + string.Join("\n", merges) + "\n");
        var config = new JsonObject
        {
            ["added_tokens_decoder"] = new JsonObject { [(vocab.Count - 1).ToString()] = new JsonObject { ["content"] = "<|endoftext|>", ["special"] = true } },
            ["bos_token"] = "<|endoftext|>",
            ["eos_token"] = "<|endoftext|>",
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
        return folder;
    }

    [Fact]
    public void ByteLevelBpe_RoundTrips_UsesItsMerges_AndTakesEosFromTheConfig()
    {
        var tokenizer = (PretrainedTokenizer)TokenizerFactory.Create(BpeFolder());
        Assert.Equal(256 + 8 + 1, tokenizer.VocabSize);
        Assert.Equal(264, tokenizer.EndOfText);
        Assert.Equal(264, tokenizer.Padding); // no pad token: padding uses EOS
        var ids = tokenizer.Encode(Text);
        Assert.Equal(Text, tokenizer.Decode(ids));
        // " the" is the merge Ġt + he, id 256 + 2 (twice, and " then" starts with it); " cat" and " mat" their own tokens.
        Assert.Equal(3, ids.Count(id => id == 258));
        Assert.Contains(261, ids);
        Assert.Contains(263, ids);
        // The special token in text is one id, not its characters.
        Assert.Equal([264], tokenizer.Encode("<|endoftext|>"));
    }

    [Fact]
    public void SentencePiece_RoundTrips_WithByteFallback_AndTakesEosFromTheConfig()
    {
        string folder = Path.Combine(_dir, "sp");
        Directory.CreateDirectory(folder);
        string[] merged = ["▁t", "he", "▁the", "at", "▁c", "▁cat"];
        File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), SentencePieceModel(["▁", "t", "h", "e", "c", "a", .. merged]));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"bos_token": "<s>", "eos_token": {"content": "</s>"}, "pad_token": null}""");
        var tokenizer = (PretrainedTokenizer)TokenizerFactory.Create(folder);
        Assert.Equal(2, tokenizer.EndOfText);
        Assert.Equal(2, tokenizer.Padding); // pad_token null: padding uses EOS
        Assert.Equal(3 + 256 + 6 + 6, tokenizer.VocabSize);
        var ids = tokenizer.Encode(Text);
        Assert.Equal(Text, tokenizer.Decode(ids));
        // "▁the" is one piece (the last but two): the dummy prefix makes the first "the" one too, and "then" starts with it.
        // Characters outside the pieces fall back to their UTF-8 bytes.
        int the = 3 + 256 + 6 + 2;
        Assert.Equal(4, ids.Count(id => id == the));
        Assert.Contains(3 + 0xC3, ids); // the first byte of é
    }

    [Fact]
    public void Folder_WithoutAnEndOfSequenceToken_IsRefused()
    {
        string folder = BpeFolder();
        File.Delete(Path.Combine(folder, "tokenizer_config.json"));
        var e = Assert.Throws<InvalidDataException>(() => TokenizerFactory.Create(folder));
        Assert.Contains("no end-of-sequence token", e.Message);
    }

    // ---- a SentencePiece ModelProto, written by hand -------------------------------------------------------------------

    /// <summary>A BPE model with byte fallback: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte pieces, then <paramref name="pieces"/>
    /// in merge order (earlier pieces score higher).</summary>
    private static byte[] SentencePieceModel(string[] pieces)
    {
        var model = new MemoryStream();
        void Piece(string text, float score, int type) => Field(model, 1, Message(m =>
        {
            Field(m, 1, Encoding.UTF8.GetBytes(text));
            Fixed32(m, 2, score);
            Varint(m, 3, type);
        }));
        Piece("<unk>", 0, 2);   // UNKNOWN
        Piece("<s>", 0, 3);     // CONTROL
        Piece("</s>", 0, 3);
        for (int b = 0; b < 256; b++) Piece($"<0x{b:X2}>", 0, 6); // BYTE
        for (int i = 0; i < pieces.Length; i++) Piece(pieces[i], -i, 1); // NORMAL
        Field(model, 2, Message(t =>
        {
            Varint(t, 3, 2);                // model_type BPE
            Varint(t, 4, 3 + 256 + pieces.Length); // vocab_size
            Varint(t, 35, 1);               // byte_fallback
            Varint(t, 40, 0);               // unk_id
            Varint(t, 41, 1);               // bos_id
            Varint(t, 42, 2);               // eos_id
            Varint(t, 43, ulong.MaxValue);  // pad_id -1
        }));
        Field(model, 3, Message(n =>
        {
            Field(n, 1, Encoding.UTF8.GetBytes("identity"));
            Varint(n, 3, 1);                // add_dummy_prefix
            Varint(n, 4, 0);                // remove_extra_whitespaces
            Varint(n, 5, 1);                // escape_whitespaces
        }));
        return model.ToArray();
    }

    private static byte[] Message(Action<MemoryStream> write)
    {
        var m = new MemoryStream();
        write(m);
        return m.ToArray();
    }

    private static void Tag(Stream s, int field, int wireType) => RawVarint(s, (ulong)(field << 3 | wireType));

    private static void RawVarint(Stream s, ulong value)
    {
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            s.WriteByte(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
    }

    private static void Varint(Stream s, int field, ulong value)
    {
        Tag(s, field, 0);
        RawVarint(s, value);
    }

    private static void Varint(Stream s, int field, int value) => Varint(s, field, (ulong)(long)value);

    private static void Fixed32(Stream s, int field, float value)
    {
        Tag(s, field, 5);
        s.Write(BitConverter.GetBytes(value));
    }

    private static void Field(Stream s, int field, byte[] bytes)
    {
        Tag(s, field, 2);
        RawVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }
}
