using HardFocus.Engine.Backends;
using HardFocus.Engine;
using HardFocus.Models;
using HardFocus.Training.Text;

namespace HardFocus.Training.Cli;

/// <summary>A trained model read back from a run folder, with the tokenizer and options it was trained with.</summary>
public sealed record Checkpoint(DecoderModel Model, ITokenizer Tokenizer, TrainOptions? Options) : IDisposable
{
    public static Checkpoint Load(string directory, IBackend backend)
    {
        var folder = new RunFolder(directory);
        // With trainer.json the weights may sit in model.safetensors.prev after a failed save; LoadModel finds them there.
        if (!File.Exists(folder.File(RunFolder.ConfigFile)) || (!folder.HasCheckpoint && !File.Exists(folder.File(RunFolder.ModelFile))))
            throw new UserError($"{folder.Path} is not a run folder (it needs {RunFolder.ConfigFile} and {RunFolder.ModelFile}).");
        // With trainer.json, config.json and the weights are the files it committed, checked against their SHA-256.
        var state = folder.HasCheckpoint ? folder.LoadTrainerState() : null;
        var config = folder.LoadConfig(state);
        // Without trainer.json the vocabulary decides: 256 is the byte tokenizer, anything else GPT-2's.
        var tokenizer = TokenizerFactory.Create(state?.Options.Tokenizer ?? (config.VocabSize == 256 ? "bytes" : "gpt2"));
        var model = config.CreateModel(backend, seed: 0);
        try { folder.LoadModel(model, state); }
        catch { model.Dispose(); throw; }
        return new Checkpoint(model, tokenizer, state?.Options);
    }

    public void Dispose() => Model.Dispose();
}
