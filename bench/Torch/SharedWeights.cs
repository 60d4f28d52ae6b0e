using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models;
using HardFocus.Models.Gpt;
using HardFocus.Models.Llama;

namespace HardFocus.Bench.Torch;

/// <summary>The identical starting point of both sides: a freshly initialised HardFocus model written as a Hugging Face
/// safetensors file (for GPT-2: fused c_attn, Conv1D weights [in, out]; for LLaMA: the names and layout it already has),
/// which each side then reads.</summary>
internal static class SharedWeights
{
    public static void Write(IDecoderConfig config, ulong seed, string path)
    {
        using var model = config.CreateModel(CpuBackend.Shared, seed);
        Safetensors.Write(path, model.ToHuggingFace().Select(kv => new SafetensorsEntry(kv.Key, kv.Value.Shape, kv.Value.Data)).ToList());
    }

    /// <summary>The model presets the side-by-side commands take; byte-level vocabulary for the small ones, GPT-2's for gpt2.</summary>
    public static IDecoderConfig Preset(string name) => name switch
    {
        "tiny" => GptConfig.Tiny(256),
        "small" => GptConfig.Small(256),
        "gpt2" => GptConfig.Gpt2(),
        "llama-tiny" => LlamaConfig.Tiny(256),
        "llama-small" => LlamaConfig.Small(256),
        _ => throw new UsageException($"--model must be tiny, small, gpt2, llama-tiny or llama-small, got '{name}'."),
    };

    /// <summary>The shape in a few words, for the commands' first line.</summary>
    public static string Describe(IDecoderConfig config) => config switch
    {
        GptConfig c => $"GPT-2, {c.Layers} layers, width {c.Width}, {c.Heads} heads, vocab {c.VocabSize}",
        LlamaConfig c => $"LLaMA, {c.Layers} layers, width {c.Width}, {c.Heads} heads on {c.KvHeads} key/value heads, MLP {c.MlpWidth}, vocab {c.VocabSize}",
        _ => config.ModelType,
    };

    /// <summary>TorchSharp's model of the same family, read from the shared file.</summary>
    public static ITorchDecoder TorchModel(IDecoderConfig config, string huggingFaceSafetensors) => config switch
    {
        GptConfig c => new TorchGpt(c, huggingFaceSafetensors),
        LlamaConfig c => new TorchLlama(c, huggingFaceSafetensors),
        _ => throw new NotSupportedException($"No TorchSharp model for {config.ModelType}."),
    };
}
