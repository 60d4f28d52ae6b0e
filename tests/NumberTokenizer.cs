using HardFocus.Training.Text;

namespace HardFocus.Tests;

/// <summary>Space-separated integers are the tokens, so every token can carry its own position in the stream.</summary>
internal sealed class NumberTokenizer : ITokenizer
{
    public string Name => "numbers";
    public int VocabSize => 100_000;
    public int EndOfText => 0;
    public int Padding => EndOfText;
    public int[] Encode(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
    public string Decode(ReadOnlySpan<int> ids) => string.Join(' ', ids.ToArray());
}
