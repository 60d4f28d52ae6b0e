using System.Text.Json.Nodes;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models;
using HardFocus.Models.Llama;
using HardFocus.Training;

namespace HardFocus.Tests;

/// <summary>A Hugging Face-layout Qwen2 checkpoint folder (sharded weights, config.json, byte-level BPE tokenizer files)
/// as a user meets it: `--model config.json --init folder --tokenizer folder` continues training with IR-DRO, and a
/// folder whose weights contradict its config is one error line naming the tensor.</summary>
public sealed class LlamaCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-llamacli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A tokenizer over the 256 byte-level characters plus one EOS token, and a Qwen2 model sized to it.</summary>
    private string Checkpoint(LlamaConfig config)
    {
        string folder = Path.Combine(_dir, "qwen");
        using var model = new LlamaModel(config, new CpuBackend(), seed: 4);
        HuggingFaceCheckpoint.Write(folder, model, maxShardBytes: 40_000);
        var vocab = new JsonObject();
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            char c = (b is >= '!' and <= '~') || (b is >= 0xA1 and <= 0xAC) || (b is >= 0xAE and <= 0xFF) ? (char)b : (char)next++;
            vocab[c.ToString()] = b;
        }
        vocab["<|endoftext|>"] = 256;
        File.WriteAllText(Path.Combine(folder, "vocab.json"), vocab.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "merges.txt"), "#version: 0.2\n");
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"eos_token": "<|endoftext|>", "added_tokens_decoder": {"256": {"content": "<|endoftext|>"}}}""");
        return folder;
    }

    private static LlamaConfig Qwen2 => new()
    {
        ModelType = "qwen2", VocabSize = 264, Width = 32, MlpWidth = 48, Layers = 2, Heads = 4, KvHeads = 2, ContextLength = 32,
        RmsNormEpsilon = 1e-6f, RopeTheta = 1e6f, TieWordEmbeddings = true, EosTokenId = 256,
    };

    [Fact]
    public void HuggingFaceQwen2Folder_ContinuesTrainingWithIrdro()
    {
        string folder = Checkpoint(Qwen2);
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors.index.json")));
        string run = Path.Combine(_dir, "run");
        var (code, output, err) = CliTests.Run("train", "--model", Path.Combine(folder, "config.json"), "--init", folder, "--tokenizer", folder,
            "--reweight", "irdro", "--batch-size", "2", "--seq-len", "16", "--steps", "2", "--eval-batches", "1", "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains("parameters", output);
        // The run folder is itself a Hugging Face checkpoint of the same family.
        Assert.Equal(Qwen2, DecoderConfigs.Load(Path.Combine(run, RunFolder.ConfigFile)));
        Assert.Equal(HuggingFaceCheckpoint.ReadWeights(folder).Keys.Order(), HuggingFaceCheckpoint.ReadWeights(run).Keys.Order());
    }

    [Fact]
    public void Export_WritesAHuggingFaceFolderWithTheTokenizer_ThatLoadsBitwise()
    {
        string folder = Checkpoint(Qwen2);
        string run = Path.Combine(_dir, "run"), exported = Path.Combine(_dir, "exported");
        Assert.Equal(0, CliTests.Run("train", "--model", Path.Combine(folder, "config.json"), "--init", folder,
            "--batch-size", "2", "--seq-len", "16", "--steps", "1", "--eval-batches", "1", "--out", run).Code);
        var (code, _, err) = CliTests.Run("export", "--checkpoint", run, "--out", exported);
        Assert.True(code == 0, err);
        foreach (string name in new[] { "config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(exported, name)), name);
        Assert.Equal(Qwen2, DecoderConfigs.Load(Path.Combine(exported, "config.json")));
        var trained = HuggingFaceCheckpoint.ReadWeights(run);
        var written = HuggingFaceCheckpoint.ReadWeights(exported);
        Assert.Equal(trained.Keys.Order(), written.Keys.Order());
        foreach (var (name, (shape, data)) in trained)
        {
            Assert.Equal(shape, written[name].Shape);
            Assert.Equal(data, written[name].Data);
        }

        var (again, _, refusal) = CliTests.Run("export", "--checkpoint", run, "--out", exported);
        Assert.Equal(2, again);
        Assert.Equal($"error: --out {exported} is not empty.", refusal.Trim());
    }

    [Fact]
    public void GptExport_IsTheHuggingFaceGpt2Layout_AndTrainsFromItsFolder()
    {
        string run = Path.Combine(_dir, "gpt"), exported = Path.Combine(_dir, "gpt-hf");
        Assert.Equal(0, CliTests.Run("train", "--model", "tiny", "--batch-size", "2", "--seq-len", "16", "--steps", "1", "--eval-batches", "1", "--out", run).Code);
        Assert.Equal(0, CliTests.Run("export", "--checkpoint", run, "--out", exported, "--shard-mb", "1").Code);
        Assert.Contains("h.0.attn.c_attn.weight", HuggingFaceCheckpoint.ReadWeights(exported).Keys);
        var (code, output, err) = CliTests.Run("train", "--model", Path.Combine(exported, "config.json"), "--init", exported,
            "--batch-size", "2", "--seq-len", "16", "--steps", "1", "--eval-batches", "1", "--out", Path.Combine(_dir, "gpt-again"));
        Assert.True(code == 0, err);
        Assert.Contains("bytes tokens", output);
    }

    [Fact]
    public void InitFolderWithTokenizerFiles_BringsItsTokenizer()
    {
        string folder = Checkpoint(Qwen2);
        string run = Path.Combine(_dir, "run");
        var (code, output, err) = CliTests.Run("train", "--model", Path.Combine(folder, "config.json"), "--init", folder,
            "--batch-size", "2", "--seq-len", "16", "--steps", "1", "--eval-batches", "1", "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains($"{Path.GetFullPath(folder)} tokens", output);
        Assert.Equal(Path.GetFullPath(folder), new RunFolder(run).LoadTrainerState().Options.Tokenizer);
    }

    [Fact]
    public void CheckpointContradictingItsConfig_IsOneErrorLine()
    {
        string folder = Checkpoint(Qwen2);
        string config = Path.Combine(_dir, "narrow.json");
        File.WriteAllText(config, (Qwen2 with { MlpWidth = 40 }).ToJson());
        var (code, _, err) = CliTests.Run("train", "--model", config, "--init", folder, "--tokenizer", folder,
            "--batch-size", "2", "--seq-len", "16", "--steps", "1", "--out", Path.Combine(_dir, "bad"));
        Assert.Equal(2, code);
        Assert.Equal("error: Tensor 'model.layers.0.mlp.gate_proj.weight' has shape [48, 32] in the checkpoint but [40, 32] in the model.", err.Trim());
    }
}
