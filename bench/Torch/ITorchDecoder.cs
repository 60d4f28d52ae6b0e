using static TorchSharp.torch;

namespace HardFocus.Bench.Torch;

/// <summary>A decoder written directly in TorchSharp from a Hugging Face safetensors file: <see cref="TorchGpt"/> or
/// <see cref="TorchLlama"/>.</summary>
internal interface ITorchDecoder : IDisposable
{
    /// <summary>Every parameter under its Hugging Face name, in the file's order.</summary>
    Dictionary<string, TorchSharp.Modules.Parameter> Parameters { get; }

    /// <summary>ids [batch, seq] (int64) to logits [batch, seq, vocab].</summary>
    Tensor Forward(Tensor ids);
}
