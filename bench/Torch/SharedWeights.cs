using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;

namespace HardFocus.Bench.Torch;

/// <summary>The identical starting point of both sides: a freshly initialised HardFocus model written as a
/// Hugging Face GPT-2 safetensors file (fused c_attn, Conv1D weights [in, out]), which each side then reads.</summary>
internal static class SharedWeights
{
    public static void Write(GptConfig config, ulong seed, string path)
    {
        using var model = new GptModel(config, CpuBackend.Shared, seed);
        var ours = model.StateDict().ToDictionary(kv => kv.Key, kv => (kv.Value.Shape.ToArray(), kv.Value.ToArray()));
        var entries = HuggingFaceGpt2.FromModel(ours).Select(kv => new SafetensorsEntry(kv.Key, kv.Value.Shape, kv.Value.Data)).ToList();
        Safetensors.Write(path, entries);
    }

    /// <summary>The model presets the side-by-side commands take; byte-level vocabulary for the small ones, GPT-2's for gpt2.</summary>
    public static GptConfig Preset(string name) => name switch
    {
        "tiny" => GptConfig.Tiny(256),
        "small" => GptConfig.Small(256),
        "gpt2" => GptConfig.Gpt2(),
        _ => throw new UsageException($"--model must be tiny, small or gpt2, got '{name}'."),
    };
}
