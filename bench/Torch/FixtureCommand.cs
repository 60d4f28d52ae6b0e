using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using static TorchSharp.torch;

namespace HardFocus.Bench.Torch;

/// <summary>
/// `fixture [--out DIR]`: writes the outside reference the test suite checks HardFocus against without TorchSharp
/// (tests/TorchSharpReferenceTests.cs). Everything in it is made on the TorchSharp side: random weights drawn by
/// libtorch straight in Hugging Face's GPT-2 layout (so HardFocus's converter plays no part in writing them), a padded
/// and masked batch, and TorchSharp's logits, per-sample losses, IR-DRO weights and the gradient of every parameter
/// under the IR-DRO objective.
/// </summary>
internal static class FixtureCommand
{
    public const string Name = "fixture";
    public const string DefaultFolder = "tests/Fixtures/torchsharp-gpt2";
    private const double Lambda = 1.0;

    // Small enough to commit (about 200 KB in all), large enough to have two blocks, two heads and padding.
    private static readonly GptConfig Config = new() { VocabSize = 64, ContextLength = 16, Layers = 2, Heads = 2, Width = 32 };

    public static int Run(IReadOnlyList<string> args)
    {
        var options = new Arguments(Name, args, ["--out"], []);
        string folder = options.Text("--out", DefaultFolder);
        Directory.CreateDirectory(folder);
        manual_seed(20260);

        string modelPath = Path.Combine(folder, "model.safetensors");
        Safetensors.Write(modelPath, RandomHuggingFaceWeights(), new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), Config.ToJson());

        var batch = SideBySideBatch.Padded(batch: 4, seq: 12, Config.VocabSize, seed: 7);
        using var side = new TorchSide(Config, modelPath, learningRate: 0f);
        var outputs = side.ForwardBackward(batch, Lambda, fraction: 0.5, portion: 0);
        var entries = new List<SafetensorsEntry>
        {
            new("input_ids", [batch.Batch, batch.Seq], batch.Ids.Select(i => (float)i).ToArray()),
            new("targets", [batch.Batch, batch.Seq], batch.Targets.Select(i => (float)i).ToArray()),
            new("mask", [batch.Batch, batch.Seq], batch.Mask),
            new("logits", [batch.Batch, batch.Seq, Config.VocabSize], outputs.Logits),
            new("losses", [batch.Batch], outputs.Losses),
            new("irdro_weights", [batch.Batch], outputs.IrDroWeights),
        };
        foreach (var (name, parameter) in side.Model.Parameters)
            entries.Add(new SafetensorsEntry("grad." + name, parameter.shape.Select(d => (int)d).ToArray(), outputs.Gradients[name]));
        var metadata = new Dictionary<string, string>
        {
            ["made_by"] = $"TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, libtorch {__version__}",
            ["command"] = "dotnet run --project bench/Torch -c Release -- fixture",
            ["objective"] = $"sum_i w_i l_i, w = softmax(l / {Lambda}) held constant; l_i the masked mean token cross-entropy",
        };
        Safetensors.Write(Path.Combine(folder, "reference.safetensors"), entries, metadata);
        Console.WriteLine($"fixture: wrote config.json, model.safetensors and reference.safetensors to {folder}");
        return 0;
    }

    /// <summary>Every tensor a Hugging Face GPT-2 file holds, drawn at random in that layout: Conv1D weights [in, out],
    /// q, k and v fused in c_attn, LayerNorm gains near 1, biases non-zero so that a misplaced one shows.</summary>
    private static List<SafetensorsEntry> RandomHuggingFaceWeights()
    {
        int c = Config.Width;
        var entries = new List<SafetensorsEntry>();
        void Add(string name, int[] shape, double mean, double std) =>
            entries.Add(new SafetensorsEntry(name, shape, (randn(shape.Select(d => (long)d).ToArray()) * std + mean).data<float>().ToArray()));
        Add("wte.weight", [Config.VocabSize, c], 0, 0.1);
        Add("wpe.weight", [Config.ContextLength, c], 0, 0.05);
        for (int layer = 0; layer < Config.Layers; layer++)
        {
            string h = $"h.{layer}.";
            Add(h + "ln_1.weight", [c], 1, 0.1); Add(h + "ln_1.bias", [c], 0, 0.05);
            Add(h + "attn.c_attn.weight", [c, 3 * c], 0, 0.1); Add(h + "attn.c_attn.bias", [3 * c], 0, 0.05);
            Add(h + "attn.c_proj.weight", [c, c], 0, 0.1); Add(h + "attn.c_proj.bias", [c], 0, 0.05);
            Add(h + "ln_2.weight", [c], 1, 0.1); Add(h + "ln_2.bias", [c], 0, 0.05);
            Add(h + "mlp.c_fc.weight", [c, 4 * c], 0, 0.1); Add(h + "mlp.c_fc.bias", [4 * c], 0, 0.05);
            Add(h + "mlp.c_proj.weight", [4 * c, c], 0, 0.1); Add(h + "mlp.c_proj.bias", [c], 0, 0.05);
        }
        Add("ln_f.weight", [c], 1, 0.1); Add("ln_f.bias", [c], 0, 0.05);
        return entries;
    }
}
