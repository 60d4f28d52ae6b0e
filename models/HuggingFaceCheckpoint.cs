using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HardFocus.Engine.IO;

namespace HardFocus.Models;

/// <summary>
/// A Hugging Face checkpoint folder as transformers writes it: config.json beside model.safetensors, or beside
/// numbered shards (model-00001-of-00002.safetensors, ...) that model.safetensors.index.json maps every tensor to.
/// Tensors of any dtype the safetensors reader knows (F32, F16, BF16, F64) come back as float32.
/// </summary>
public static class HuggingFaceCheckpoint
{
    public const string ConfigFile = "config.json", WeightsFile = "model.safetensors", IndexFile = "model.safetensors.index.json";

    public static bool HasWeights(string folder) =>
        Directory.Exists(folder) && (File.Exists(Path.Combine(folder, WeightsFile)) || File.Exists(Path.Combine(folder, IndexFile)));

    /// <summary>Every tensor of a .safetensors file, or of a folder's model.safetensors or its sharded set. A shard that
    /// holds a tensor the index puts elsewhere, a tensor in two shards, or one the index lists but no shard holds is an
    /// error naming the tensor and the file.</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> ReadWeights(string fileOrFolder)
    {
        if (!Directory.Exists(fileOrFolder)) return Entries(Safetensors.Read(fileOrFolder));
        string index = Path.Combine(fileOrFolder, IndexFile);
        if (!File.Exists(index)) return Entries(Safetensors.Read(Path.Combine(fileOrFolder, WeightsFile)));

        var map = ReadIndex(index);
        var result = new Dictionary<string, (int[], float[])>(StringComparer.Ordinal);
        foreach (string shard in map.Values.Distinct().Order(StringComparer.Ordinal))
        {
            string path = Path.Combine(fileOrFolder, shard);
            if (!File.Exists(path))
                throw new InvalidDataException($"{index} puts tensor '{map.First(kv => kv.Value == shard).Key}' in {shard}, which is not in {fileOrFolder}.");
            foreach (var entry in Safetensors.Read(path).Entries)
            {
                if (!map.TryGetValue(entry.Name, out var listed) || listed != shard)
                    throw new InvalidDataException($"Tensor '{entry.Name}' is in {shard} but {index} puts it {(listed == null ? "nowhere" : "in " + listed)}.");
                result[entry.Name] = (entry.Shape, entry.Data);
            }
        }
        if (map.Keys.FirstOrDefault(name => !result.ContainsKey(name)) is { } missing)
            throw new InvalidDataException($"Tensor '{missing}' is listed in {index} but {map[missing]} does not hold it.");
        return result;
    }

    /// <summary>weight_map: tensor name to shard file name (a plain name in the same folder).</summary>
    private static Dictionary<string, string> ReadIndex(string path)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message.Split(" LineNumber:")[0].TrimEnd('.', ' ')})."); }
        if (root is not JsonObject obj || obj["weight_map"] is not JsonObject weightMap)
            throw new InvalidDataException($"{path}: weight_map is missing (an object of tensor name to shard file).");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in weightMap)
        {
            string? shard = value is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            if (shard == null || shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or "..")
                throw new InvalidDataException($"{path}: tensor '{name}' maps to {value?.ToJsonString() ?? "null"}, not a file name in the folder.");
            map[name] = shard;
        }
        return map;
    }

    private static Dictionary<string, (int[] Shape, float[] Data)> Entries(SafetensorsFile file) =>
        file.Entries.ToDictionary(e => e.Name, e => (e.Shape, e.Data), StringComparer.Ordinal);

    /// <summary>Writes <paramref name="model"/> as a Hugging Face checkpoint folder: config.json in Hugging Face's keys and
    /// the weights in its names and layouts, as F32, in one file or, when they exceed <paramref name="maxShardBytes"/>, in
    /// shards with an index.</summary>
    public static void Write(string folder, DecoderModel model, long maxShardBytes = long.MaxValue)
    {
        Directory.CreateDirectory(folder);
        var tensors = model.ToHuggingFace();
        var shards = new List<List<SafetensorsEntry>> { new() };
        long size = 0, total = 0;
        foreach (var (name, (shape, data)) in tensors)
        {
            long bytes = 4L * data.Length;
            if (shards[^1].Count > 0 && size + bytes > maxShardBytes)
            {
                shards.Add(new());
                size = 0;
            }
            shards[^1].Add(new SafetensorsEntry(name, shape, data));
            size += bytes;
            total += bytes;
        }
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        File.WriteAllText(Path.Combine(folder, ConfigFile), model.Config.ToJson());
        if (shards.Count == 1)
        {
            Safetensors.Write(Path.Combine(folder, WeightsFile), shards[0], metadata);
            return;
        }
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"model-{i + 1:00000}-of-{shards.Count:00000}.safetensors");
            Safetensors.Write(Path.Combine(folder, name), shards[i], metadata);
            foreach (var entry in shards[i]) weightMap[entry.Name] = name;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(folder, IndexFile), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
