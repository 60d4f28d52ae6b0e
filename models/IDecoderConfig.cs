using HardFocus.Engine.Backends;

namespace HardFocus.Models;

/// <summary>The shape of a decoder of some family, as its Hugging Face config.json spells it.</summary>
public interface IDecoderConfig
{
    /// <summary>Hugging Face's model_type: gpt2, llama, qwen2 or mistral.</summary>
    string ModelType { get; }
    int VocabSize { get; }
    /// <summary>The longest sequence the model takes.</summary>
    int ContextLength { get; }

    /// <summary>config.json in Hugging Face's keys only, so the run folder loads in other tools.</summary>
    string ToJson();

    /// <summary>The same shape with this dropout probability while training; a family without dropout refuses p &gt; 0.</summary>
    IDecoderConfig WithDropout(float p);

    DecoderModel CreateModel(IBackend backend, ulong seed);
}
