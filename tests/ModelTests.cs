using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using HardFocus.Training;

namespace HardFocus.Tests;

public class ModelTests
{
    private static readonly GptConfig Config = GptConfig.Tiny(50) with { ContextLength = 12, Layers = 2, Width = 16, Heads = 2 };

    private static float[] Logits(GptModel model, int[] ids)
    {
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        return model.Forward(IndexTensor.FromArray(ids, new Shape(1, ids.Length), model.Backend)).ToArray();
    }

    [Fact]
    public void Presets_HaveTheDocumentedShapes()
    {
        using var gpt2 = new GptModel(GptConfig.Gpt2(), new CpuBackend(), 1);
        Assert.Equal(124_439_808, gpt2.ParameterCount()); // GPT-2 small with the tied head
        Assert.Equal(3_257_856, new GptModel(GptConfig.Small(256), new CpuBackend(), 1).ParameterCount());
    }

    [Fact]
    public void Initialisation_ScalesResidualProjections()
    {
        using var model = new GptModel(GptConfig.Small(256), new CpuBackend(), 3);
        var named = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToArray());
        static double Std(float[] v) => Math.Sqrt(v.Select(x => (double)x * x).Average());
        Assert.Equal(0.02, Std(named["h.0.mlp.c_fc.weight"]), 3);
        Assert.Equal(0.02 / Math.Sqrt(8), Std(named["h.0.mlp.c_proj.weight"]), 3);
        Assert.All(named["h.1.ln_2.weight"], v => Assert.Equal(1f, v));
    }

    [Fact]
    public void HuggingFaceLayout_RoundTripsAndGivesTheSameLogits()
    {
        var backend = new CpuBackend();
        using var original = new GptModel(Config, backend, 5);
        var ours = original.StateDict().ToDictionary(kv => kv.Key, kv => (kv.Value.Shape.ToArray(), kv.Value.ToArray()));
        var hf = HuggingFaceGpt2.FromModel(ours);
        Assert.Equal([16, 48], hf["h.0.attn.c_attn.weight"].Shape);
        Assert.Equal([16, 64], hf["h.1.mlp.c_fc.weight"].Shape);
        Assert.DoesNotContain("h.0.attn.q_proj.weight", hf.Keys);

        string dir = Directory.CreateTempSubdirectory("hardfocus-").FullName;
        try
        {
            // Saved the way Hugging Face does: "transformer." prefix, a mask buffer, the tied head.
            string path = Path.Combine(dir, "model.safetensors");
            var entries = hf.Select(kv => new SafetensorsEntry("transformer." + kv.Key, kv.Value.Shape, kv.Value.Data)).ToList();
            entries.Add(new SafetensorsEntry("transformer.h.0.attn.bias", [1, 1, 12, 12], new float[144]));
            entries.Add(new SafetensorsEntry("lm_head.weight", hf["wte.weight"].Shape, hf["wte.weight"].Data));
            Safetensors.Write(path, entries);

            using var loaded = new GptModel(Config, backend, 99);
            RunFolder.LoadWeights(path, loaded);
            int[] ids = [3, 1, 4, 1, 5, 9, 2, 6];
            Assert.Equal(Logits(original, ids), Logits(loaded, ids));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void LoadStateDict_RejectsMissingUnknownAndMisshapenTensors()
    {
        using var model = new GptModel(Config, new CpuBackend(), 1);
        var good = model.StateDict().ToDictionary(kv => kv.Key, kv => (kv.Value.Shape.ToArray(), kv.Value.ToArray()));
        var missing = new Dictionary<string, (int[], float[])>(good); missing.Remove("ln_f.bias");
        var unknown = new Dictionary<string, (int[], float[])>(good) { ["extra"] = ([1], [0f]) };
        var misshapen = new Dictionary<string, (int[], float[])>(good) { ["ln_f.bias"] = ([17], new float[17]) };
        Assert.Contains("ln_f.bias", Assert.Throws<InvalidDataException>(() => model.LoadStateDict(missing)).Message);
        Assert.Contains("extra", Assert.Throws<InvalidDataException>(() => model.LoadStateDict(unknown)).Message);
        Assert.Contains("shape", Assert.Throws<InvalidDataException>(() => model.LoadStateDict(misshapen)).Message);
    }

    [Theory]
    [InlineData("h.0.attn.c_attn.bias", new[] { 47 }, "Tensor 'h.0.attn.c_attn.bias' has shape [47] in the checkpoint but [48] in the model.")]
    [InlineData("h.1.mlp.c_proj.weight", new[] { 64 }, "Tensor 'h.1.mlp.c_proj.weight' has shape [64] in the checkpoint but [64, 16] in the model.")]
    [InlineData("h.9.attn.c_attn.weight", new[] { 3 }, "Unexpected tensor 'h.9.attn.c_attn.weight' in the checkpoint: the model has no such parameter.")]
    [InlineData("ln_f.bias", null, "The checkpoint has no tensor 'ln_f.bias'.")]
    public void HuggingFaceLayout_ChecksEveryTensorBeforeConverting(string name, int[]? shape, string message)
    {
        using var model = new GptModel(Config, new CpuBackend(), 1);
        var ours = model.StateDict().ToDictionary(kv => kv.Key, kv => (kv.Value.Shape.ToArray(), kv.Value.ToArray()));
        var hf = HuggingFaceGpt2.FromModel(ours);
        if (shape == null) hf.Remove(name);
        else hf[name] = (shape, new float[shape.Aggregate(1, (a, b) => a * b)]);
        var shapes = ours.ToDictionary(kv => kv.Key, kv => kv.Value.Item1);
        Assert.Equal(message, Assert.Throws<InvalidDataException>(() => HuggingFaceGpt2.ToModel(hf, shapes)).Message);
    }

    [Fact]
    public void Forward_IsCausal()
    {
        using var model = new GptModel(Config, new CpuBackend(), 2);
        var a = Logits(model, [1, 2, 3, 4, 5]);
        var b = Logits(model, [1, 2, 3, 9, 9]);
        Assert.Equal(a.AsSpan(0, 3 * 50).ToArray(), b.AsSpan(0, 3 * 50).ToArray());
        Assert.NotEqual(a.AsSpan(3 * 50, 50).ToArray(), b.AsSpan(3 * 50, 50).ToArray());
    }
}
