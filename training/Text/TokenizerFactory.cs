namespace HardFocus.Training.Text;

public static class TokenizerFactory
{
    public static readonly IReadOnlyList<string> Names = ["gpt2", "bytes"];

    public static ITokenizer Create(string name) => name switch
    {
        "gpt2" => new Gpt2Tokenizer(),
        "bytes" => new ByteTokenizer(),
        _ => throw new ArgumentException($"Unknown tokenizer '{name}': use gpt2 or bytes."),
    };
}
