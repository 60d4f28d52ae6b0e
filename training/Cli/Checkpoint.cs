using HardFocus.Engine.Backends;
using HardFocus.Engine;
using HardFocus.Models.Gpt;
using HardFocus.Training.Text;

namespace HardFocus.Training.Cli;

/// <summary>A trained model read back from a run folder, with the tokenizer and options it was trained with.</summary>
public sealed record Checkpoint(GptModel Model, ITokenizer Tokenizer, TrainOptions? Options) : IDisposable
{
    public static Checkpoint Load(string directory, IBackend backend)
    {
        var folder = new RunFolder(directory);
        if (!File.Exists(folder.File(RunFolder.ConfigFile)) || !File.Exists(folder.File(RunFolder.ModelFile)))
            throw new UserError($"{folder.Path} is not a run folder (it needs {RunFolder.ConfigFile} and {RunFolder.ModelFile}).");
        var config = folder.LoadConfig();
        var options = folder.HasCheckpoint ? folder.LoadTrainerState().Options : null;
        // Without trainer.json the vocabulary decides: 256 is the byte tokenizer, anything else GPT-2's.
        var tokenizer = TokenizerFactory.Create(options?.Tokenizer ?? (config.VocabSize == 256 ? "bytes" : "gpt2"));
        var model = new GptModel(config, backend, seed: 0);
        folder.LoadModel(model);
        return new Checkpoint(model, tokenizer, options);
    }

    public void Dispose() => Model.Dispose();
}
