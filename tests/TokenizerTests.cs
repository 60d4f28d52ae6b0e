using HardFocus.Training.Text;

namespace HardFocus.Tests;

public class TokenizerTests
{
    [Fact]
    public void Gpt2EncodesKnownIdsAndDecodesBack()
    {
        var tokenizer = new Gpt2Tokenizer();
        var ids = tokenizer.Encode("Hello world");
        Assert.Equal([15496, 995], ids);
        Assert.Equal("Hello world", tokenizer.Decode(ids));
        Assert.Equal(("gpt2", 50257, 50256), (tokenizer.Name, tokenizer.VocabSize, tokenizer.EndOfText));
    }

    [Fact]
    public void Gpt2RoundTripsNonAsciiAndDecodesEndOfText()
    {
        var tokenizer = new Gpt2Tokenizer();
        const string text = "Ahab's whale: \u00e9l\u00e8ve, \u6355\u9cb8, \U0001F40B.";
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.Equal("<|endoftext|>", tokenizer.Decode([tokenizer.EndOfText]));
    }

    [Fact]
    public void BytesRoundTripNonAsciiText()
    {
        var tokenizer = new ByteTokenizer();
        const string text = "Caf\u00e9 \u6355\u9cb8 \U0001F40B";
        var ids = tokenizer.Encode(text);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), ids.Length);
        Assert.All(ids, id => Assert.InRange(id, 1, 255));
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.Equal(("bytes", 256, 0), (tokenizer.Name, tokenizer.VocabSize, tokenizer.EndOfText));
    }

    [Fact]
    public void BytesDropNulAndDecodeInvalidUtf8AsReplacement()
    {
        var tokenizer = new ByteTokenizer();
        Assert.Equal([(int)'a', (int)'b'], tokenizer.Encode("a\0b"));
        Assert.Equal("a\uFFFDb", tokenizer.Decode([(int)'a', 0xFF, (int)'b']));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([256]));
    }

    [Fact]
    public void FactoryCreatesKnownNamesAndRejectsOthers()
    {
        Assert.IsType<Gpt2Tokenizer>(TokenizerFactory.Create("gpt2"));
        Assert.IsType<ByteTokenizer>(TokenizerFactory.Create("bytes"));
        var error = Assert.Throws<ArgumentException>(() => TokenizerFactory.Create("chars"));
        Assert.Equal("Unknown tokenizer 'chars': use gpt2, bytes or a folder with vocab.json and merges.txt or tokenizer.model.", error.Message);
    }
}
