using HardFocus.Engine.Backends;

namespace HardFocus.Engine.IO;

/// <summary>Named tensors to and from safetensors files: the explicit host transfer around <see cref="Safetensors"/>.</summary>
public static class TensorFile
{
    /// <summary>Downloads each tensor and writes them atomically, in the dictionary's order.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors.Select(kv => new SafetensorsEntry(kv.Key, kv.Value.Shape.ToArray(), kv.Value.ToArray())).ToList();
        Safetensors.Write(path, entries, metadata);
    }

    /// <summary>Reads every tensor onto <paramref name="backend"/>; the tensors belong to no scope.</summary>
    public static Dictionary<string, Tensor> Load(string path, IBackend? backend = null)
    {
        var file = Safetensors.Read(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in file.Entries)
            result[entry.Name] = Tensor.Persistent(entry.Data, new Shape(entry.Shape), backend);
        return result;
    }
}
