using HardFocus.Engine.IO;
using static TorchSharp.torch;

namespace HardFocus.Bench.Torch;

/// <summary>The parameters of a TorchSharp decoder, read from a Hugging Face safetensors file under their file names.</summary>
internal sealed class TorchParameters : IDisposable
{
    /// <param name="skip">Tensors in the file that are not parameters of the model (buffers, a tied LM head).</param>
    public TorchParameters(string huggingFaceSafetensors, Func<string, bool> skip)
    {
        foreach (var entry in Safetensors.Read(huggingFaceSafetensors).Entries)
            if (!skip(entry.Name))
                All[entry.Name] = nn.Parameter(tensor(entry.Data, entry.Shape.Select(d => (long)d).ToArray(), ScalarType.Float32));
    }

    /// <summary>Every parameter under its Hugging Face name, in the file's order.</summary>
    public Dictionary<string, TorchSharp.Modules.Parameter> All { get; } = new(StringComparer.Ordinal);

    public Tensor this[string name] => All.TryGetValue(name, out var t) ? t
        : throw new InvalidDataException($"The Hugging Face file has no tensor '{name}'.");

    public Tensor? Optional(string name) => All.TryGetValue(name, out var t) ? t : null;

    public void Dispose()
    {
        foreach (var t in All.Values) t.Dispose();
    }
}
