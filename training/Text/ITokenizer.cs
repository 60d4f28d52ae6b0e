namespace HardFocus.Training.Text;

/// <summary>Text to token ids and back. <see cref="EndOfText"/> separates documents and ends responses.</summary>
public interface ITokenizer
{
    string Name { get; }
    int VocabSize { get; }
    int EndOfText { get; }
    int[] Encode(string text);
    string Decode(ReadOnlySpan<int> ids);
}
