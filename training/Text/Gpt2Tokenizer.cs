using Microsoft.ML.Tokenizers;

namespace HardFocus.Training.Text;

/// <summary>GPT-2's byte-level BPE, so pretrained GPT-2 weights see the ids they were trained on.</summary>
public sealed class Gpt2Tokenizer : ITokenizer
{
    // Building the BPE tables takes a noticeable fraction of a second; every instance shares one.
    private static readonly Lazy<TiktokenTokenizer> Shared = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    public string Name => "gpt2";
    public int VocabSize => 50257;
    public int EndOfText => 50256;
    public int Padding => EndOfText;

    public int[] Encode(string text) => Shared.Value.EncodeToIds(text).ToArray();

    public string Decode(ReadOnlySpan<int> ids)
    {
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), $"Token {ids[i]} at {i} is outside the GPT-2 vocabulary of {VocabSize}.");
        return Shared.Value.Decode(ids.ToArray());
    }
}
