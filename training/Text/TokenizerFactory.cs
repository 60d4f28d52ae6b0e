namespace HardFocus.Training.Text;

public static class TokenizerFactory
{
    public static readonly IReadOnlyList<string> Names = ["gpt2", "bytes"];

    /// <summary>A built-in tokenizer by name, or a checkpoint folder's own (see <see cref="PretrainedTokenizer"/>).</summary>
    public static ITokenizer Create(string name) => name switch
    {
        "gpt2" => new Gpt2Tokenizer(),
        "bytes" => new ByteTokenizer(),
        _ when Directory.Exists(name) => PretrainedTokenizer.Load(name),
        _ => throw new ArgumentException($"Unknown tokenizer '{name}': use gpt2, bytes or a folder with vocab.json and merges.txt or tokenizer.model."),
    };

    /// <summary>How a run records its tokenizer: a folder by its full path, so a resumed run finds it from anywhere.</summary>
    public static string Recorded(string name) => Names.Contains(name) || !Directory.Exists(name) ? name : Path.GetFullPath(name);

    /// <summary>Whether a recorded tokenizer can be made again: a built-in name or a folder that still holds tokenizer files.</summary>
    public static bool IsKnown(string name) => Names.Contains(name) || PretrainedTokenizer.IsTokenizerFolder(name);
}
