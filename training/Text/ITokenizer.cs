namespace HardFocus.Training.Text;

/// <summary>Text to token ids and back. <see cref="EndOfText"/> separates documents and ends responses.</summary>
public interface ITokenizer
{
    string Name { get; }
    int VocabSize { get; }
    int EndOfText { get; }
    /// <summary>The id that fills padded positions (they are masked out of the loss): the end-of-text token unless the
    /// tokenizer has a padding token of its own.</summary>
    int Padding { get; }
    int[] Encode(string text);
    string Decode(ReadOnlySpan<int> ids);
}
