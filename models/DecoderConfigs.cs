using HardFocus.Models.Gpt;
using HardFocus.Models.Llama;

namespace HardFocus.Models;

/// <summary>Model presets by name, and config.json files dispatched on their model_type.</summary>
public static class DecoderConfigs
{
    public static readonly string[] PresetNames = [.. GptConfig.PresetNames, .. LlamaConfig.PresetNames];

    /// <summary>The families a config.json may name, by Hugging Face's model_type.</summary>
    public static readonly string[] ModelTypes = ["gpt2", .. LlamaConfig.ModelTypes];

    /// <summary>A preset by name, or a config.json path; presets whose vocabulary is not part of their shape take the
    /// tokenizer's.</summary>
    public static IDecoderConfig Resolve(string presetOrPath, int vocab) =>
        GptConfig.Preset(presetOrPath, vocab) ?? (IDecoderConfig?)LlamaConfig.Preset(presetOrPath, vocab)
        ?? (File.Exists(presetOrPath) ? Load(presetOrPath)
            : throw new ArgumentException($"Unknown model '{presetOrPath}': use {string.Join(", ", PresetNames)} or a config.json path."));

    /// <summary>Reads a config.json; its model_type picks the family, and an absent or unknown one is an error.</summary>
    public static IDecoderConfig Load(string path)
    {
        var file = ConfigFile.Read(path);
        string type = file.Text("model_type") ?? throw file.Error($"model_type is missing (one of {string.Join(", ", ModelTypes)}).");
        return type switch
        {
            "gpt2" => GptConfig.Read(file),
            _ when LlamaConfig.ModelTypes.Contains(type) => LlamaConfig.Read(file),
            _ => throw file.Error($"model_type '{type}' is not supported (use one of {string.Join(", ", ModelTypes)})."),
        };
    }
}
