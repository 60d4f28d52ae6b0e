using System.Text;
using System.Text.Json.Nodes;
using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models;
using HardFocus.Models.Llama;
using HardFocus.Training;
using HardFocus.Training.Reweighting;

namespace HardFocus.Tests;

/// <summary>The LLaMA-family model: its forward against an independent reference, Hugging Face checkpoint folders (single,
/// sharded, BF16, Qwen2 biases) loading bitwise, and the tiny preset learning a short text.</summary>
public sealed class LlamaModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-llama-").FullName;
    private static readonly int[] Ids = [3, 17, 0, 22, 5, 5, 9, 14, 1];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>GQA 4:2, untied, with rope_theta and eps away from the defaults.</summary>
    private static LlamaConfig Config(string type = "llama", bool tied = false) => new()
    {
        ModelType = type, VocabSize = 23, Width = 16, MlpWidth = 24, Layers = 2, Heads = 4, KvHeads = 2, ContextLength = 12,
        RmsNormEpsilon = 1e-5f, RopeTheta = 500f, TieWordEmbeddings = tied,
    };

    /// <summary>A model whose every parameter (norm scales and biases included) is random, so none of them can be ignored.</summary>
    private static LlamaModel RandomModel(LlamaConfig config, ulong seed)
    {
        var model = new LlamaModel(config, new CpuBackend(), seed);
        var rng = new Rng(seed + 100);
        foreach (var (name, p) in model.NamedParameters())
            p.CopyFrom(Enumerable.Range(0, p.Length).Select(_ => (name.EndsWith("norm.weight") ? 1f : 0f) + 0.3f * rng.NextGaussian()).ToArray());
        return model;
    }

    private static float[] Logits(DecoderModel model, int[] ids)
    {
        using var scope = TensorScope.Begin();
        using var _ = GradMode.NoGrad();
        return model.Forward(IndexTensor.FromArray(ids, new Shape(1, ids.Length), model.Backend)).ToArray();
    }

    private static LlamaReference.Shape ReferenceShape(LlamaConfig c) =>
        new(c.VocabSize, c.Width, c.MlpWidth, c.Layers, c.Heads, c.KvHeads, c.RmsNormEpsilon, c.RopeTheta, c.TieWordEmbeddings);

    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)]
    [InlineData("qwen2", false)]
    [InlineData("mistral", true)]
    public void Forward_MatchesIndependentReference(string type, bool tied)
    {
        var config = Config(type, tied);
        using var model = RandomModel(config, 3);
        var expected = LlamaReference.Logits(ReferenceShape(config), model.ToHuggingFace(), Ids);
        var actual = Logits(model, Ids);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"logit {i}: reference {expected[i]}, model {actual[i]}");
    }

    [Fact]
    public void Qwen2_HasQkvBiasesAndNoOutputBias_InHuggingFaceNames()
    {
        using var model = new LlamaModel(Config("qwen2"), new CpuBackend(), 1);
        var names = model.StateDict().Select(kv => kv.Key).ToHashSet();
        Assert.Contains("model.layers.1.self_attn.q_proj.bias", names);
        Assert.Contains("model.layers.1.self_attn.k_proj.bias", names);
        Assert.Contains("model.layers.1.self_attn.v_proj.bias", names);
        Assert.DoesNotContain("model.layers.1.self_attn.o_proj.bias", names);
        Assert.Contains("lm_head.weight", names);
        Assert.Equal([8, 16], model.StateDict().First(kv => kv.Key == "model.layers.0.self_attn.k_proj.weight").Value.Shape.ToArray());
    }

    [Fact]
    public void SmolLm135M_HasSmolLM2sParameterCount()
    {
        // 134,515,008: SmolLM2-135M's count as transformers reports it (tied head counted once).
        using var model = LlamaConfig.SmolLm135M().CreateModel(new CpuBackend(), 1);
        Assert.Equal(134_515_008, model.ParameterCount());
    }

    [Theory]
    [InlineData("llama", long.MaxValue)]
    [InlineData("qwen2", 3000)] // sharded: about a dozen files and an index
    public void HuggingFaceFolder_LoadsBitwise_AndExportRoundTrips(string type, long shardBytes)
    {
        var config = Config(type);
        using var original = RandomModel(config, 5);
        string folder = Path.Combine(_dir, "hf");
        HuggingFaceCheckpoint.Write(folder, original, shardBytes);
        Assert.Equal(shardBytes < long.MaxValue, File.Exists(Path.Combine(folder, HuggingFaceCheckpoint.IndexFile)));

        var loadedConfig = DecoderConfigs.Load(Path.Combine(folder, "config.json"));
        Assert.Equal(config, loadedConfig);
        using var loaded = loadedConfig.CreateModel(new CpuBackend(), seed: 99);
        loaded.LoadCheckpoint(HuggingFaceCheckpoint.ReadWeights(folder));
        Assert.Equal(Logits(original, Ids), Logits(loaded, Ids));

        string again = Path.Combine(_dir, "again");
        HuggingFaceCheckpoint.Write(again, loaded, shardBytes);
        foreach (string file in Directory.GetFiles(folder))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(again, Path.GetFileName(file))));
    }

    [Fact]
    public void Bf16Checkpoint_LoadsAsTheSameValuesWidened()
    {
        var config = Config("llama", tied: true);
        using var original = RandomModel(config, 8);
        var hf = original.ToHuggingFace();
        // BF16 keeps a float's top 16 bits; widening them back is exact, so the model must hold exactly these values.
        var widened = hf.ToDictionary(kv => kv.Key, kv => (kv.Value.Shape, kv.Value.Data.Select(v => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(v) & unchecked((int)0xFFFF0000))).ToArray()));
        string folder = Path.Combine(_dir, "bf16");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), Bf16File(hf));

        using var fromBf16 = config.CreateModel(new CpuBackend(), 1);
        fromBf16.LoadCheckpoint(HuggingFaceCheckpoint.ReadWeights(folder));
        using var fromFloats = config.CreateModel(new CpuBackend(), 2);
        fromFloats.LoadCheckpoint(widened);
        Assert.Equal(Logits(fromFloats, Ids), Logits(fromBf16, Ids));
    }

    private static byte[] Bf16File(Dictionary<string, (int[] Shape, float[] Data)> tensors)
    {
        var header = new JsonObject();
        var data = new List<byte>();
        foreach (var (name, (shape, values)) in tensors)
        {
            header[name] = new JsonObject { ["dtype"] = "BF16", ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()), ["data_offsets"] = new JsonArray(data.Count, data.Count + 2 * values.Length) };
            foreach (float v in values) data.AddRange(BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)));
        }
        return SafetensorsBytes.Build(header.ToJsonString(), data.ToArray());
    }

    [Fact]
    public void CheckpointContradictingItsConfig_IsOneErrorNamingTheTensor()
    {
        using var model = RandomModel(Config(), 4);
        var tensors = model.ToHuggingFace();
        using var wider = (Config() with { MlpWidth = 32 }).CreateModel(new CpuBackend(), 1);
        var e = Assert.Throws<InvalidDataException>(() => wider.LoadCheckpoint(tensors));
        Assert.Equal("Tensor 'model.layers.0.mlp.gate_proj.weight' has shape [24, 16] in the checkpoint but [32, 16] in the model.", e.Message);
    }

    [Fact]
    public void ShardIndex_ThatDisagreesWithItsShards_IsAnErrorNamingTheTensor()
    {
        using var model = RandomModel(Config(), 6);
        string folder = Path.Combine(_dir, "sharded");
        HuggingFaceCheckpoint.Write(folder, model, 3000);
        string index = Path.Combine(folder, HuggingFaceCheckpoint.IndexFile);
        var json = JsonNode.Parse(File.ReadAllText(index))!;
        json["weight_map"]!["model.norm.weight"] = "model-00001-of-99999.safetensors";
        File.WriteAllText(index, json.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceCheckpoint.ReadWeights(folder));
        Assert.Contains("model.norm.weight", e.Message);
    }

    [Theory]
    [InlineData("\"model_type\": \"llama\"", "\"model_type\": \"falcon\"", "model_type 'falcon' is not supported (use one of gpt2, llama, qwen2, mistral).")]
    [InlineData("\"model_type\": \"llama\",", "", "model_type is missing (one of gpt2, llama, qwen2, mistral).")]
    [InlineData("\"intermediate_size\": 24,", "", "intermediate_size is missing.")]
    [InlineData("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "hidden_act \"gelu\" is not supported: the MLP computes silu (SwiGLU).")]
    [InlineData("\"rope_theta\": 500", "\"rope_theta\": 500, \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}", "rope_scaling {\"type\": \"linear\", \"factor\": 2.0} is not supported")]
    [InlineData("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "num_key_value_heads 3 must divide num_attention_heads 4.")]
    public void ConfigJson_Refusals_AreOneLineNamingTheField(string from, string to, string expected)
    {
        string json = Config().ToJson().Replace("\n", " ").Replace("  ", " ");
        while (json.Contains("  ")) json = json.Replace("  ", " ");
        Assert.Contains(from, json);
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, json.Replace(from, to));
        var e = Assert.Throws<InvalidDataException>(() => DecoderConfigs.Load(path));
        Assert.StartsWith($"Model config {path}: {expected}", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void GptConfig_RefusesFieldsThatChangeItsComputation()
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, """{"model_type": "gpt2", "vocab_size": 50, "n_positions": 8, "n_layer": 1, "n_head": 2, "n_embd": 8, "activation_function": "relu"}""");
        Assert.Contains("activation_function \"relu\" is not supported", Assert.Throws<InvalidDataException>(() => DecoderConfigs.Load(path)).Message);
        File.WriteAllText(path, """{"model_type": "gpt2", "vocab_size": 50, "n_positions": 8, "n_layer": 1, "n_head": 2, "n_embd": 8, "scale_attn_weights": false}""");
        Assert.Contains("scale_attn_weights false is not supported", Assert.Throws<InvalidDataException>(() => DecoderConfigs.Load(path)).Message);
    }

    [Fact]
    public void Generate_WithAnEmbeddingLargerThanTheTokenizer_SamplesOnlyTokenizerIds()
    {
        // 300 rows for 256 byte ids: at temperature 5 an untrained model would soon pick one of the 44 spare rows.
        using var model = new LlamaModel(Config() with { VocabSize = 300 }, new CpuBackend(), 2);
        var tokenizer = new HardFocus.Training.Text.ByteTokenizer();
        string text = HardFocus.Training.Cli.Generator.Generate(model, tokenizer, "ab", maxTokens: 40, temperature: 5f, topK: 0, seed: 1);
        Assert.NotEmpty(text);
    }

    [Fact]
    public void TinyLlama_OverfitsAShortText()
    {
        string path = Path.Combine(_dir, "short.txt");
        File.WriteAllText(path, "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. " +
                                "However little known the feelings or views of such a man may be on his first entering a neighbourhood.");
        var options = new TrainOptions
        {
            Model = "llama-tiny", Tokenizer = "bytes", Corpus = path, Reweight = ReweightMethod.Erm, Steps = 160, LearningRate = 3e-3f,
            WarmupSteps = 0, Schedule = LrSchedule.Constant, ValFraction = 0, Dropout = 0, BatchSize = 4, SeqLen = 32, WeightDecay = 0, Seed = 3,
        };
        using var session = new TrainingSession(options, new CpuBackend());
        float first = session.Trainer.Step().MeanLoss, last = first;
        while (session.Trainer.StepsDone < options.Steps) last = session.Trainer.Step().MeanLoss;
        Assert.True(last < 0.1f * first, $"loss fell from {first} to {last}");
    }
}
