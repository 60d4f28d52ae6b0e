using System.Text.RegularExpressions;

namespace HardFocus.Models.Gpt;

/// <summary>
/// Converts between this model's state dict and Hugging Face's GPT-2 layout, so a GPT-2 safetensors checkpoint
/// loads as it is. Hugging Face stores projections as Conv1D weights [in, out] (transposed against Linear's
/// [out, in]) and fuses q, k and v into one c_attn; names may carry a "transformer." prefix, and the tied lm_head
/// and the attention-mask buffers are not parameters.
/// </summary>
public static partial class HuggingFaceGpt2
{
    public static bool IsHuggingFaceLayout(IEnumerable<string> names) =>
        names.Any(n => n.EndsWith(".attn.c_attn.weight", StringComparison.Ordinal));

    /// <summary>Converts a Hugging Face state dict to this model's names and layouts. Every tensor is first checked
    /// against <paramref name="modelShapes"/> (the model's state dict shapes, in our layout), so a file made for another
    /// model size is one error naming the tensor and both shapes, never a transpose running off an array.</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> ToModel(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> hf,
        IReadOnlyDictionary<string, int[]> modelShapes)
    {
        var expected = LayoutShapes(modelShapes);
        foreach (var (rawName, (shape, _)) in hf)
        {
            string name = Unprefixed(rawName);
            if (IsIgnored(name)) continue;
            if (!expected.TryGetValue(name, out var want))
                throw new InvalidDataException($"Unexpected tensor '{rawName}' in the checkpoint: the model has no such parameter.");
            if (!shape.AsSpan().SequenceEqual(want))
                throw new InvalidDataException($"Tensor '{rawName}' has shape {Format(shape)} in the checkpoint but {Format(want)} in the model.");
        }
        var present = hf.Keys.Select(Unprefixed).ToHashSet(StringComparer.Ordinal);
        if (expected.Keys.FirstOrDefault(n => !present.Contains(n)) is { } absent)
            throw new InvalidDataException($"The checkpoint has no tensor '{absent}'.");

        var result = new Dictionary<string, (int[], float[])>(StringComparer.Ordinal);
        foreach (var (rawName, (shape, data)) in hf)
        {
            string name = Unprefixed(rawName);
            if (IsIgnored(name)) continue;
            if (name.EndsWith(".attn.c_attn.weight", StringComparison.Ordinal))
            {
                // [C, 3C] Conv1D -> three [C, C] Linear weights.
                var full = Transpose(shape, data);
                int width = shape[0];
                string prefix = name[..^"c_attn.weight".Length];
                for (int part = 0; part < 3; part++)
                    result[prefix + Projections[part] + ".weight"] = ([width, width], full.AsSpan(part * width * width, width * width).ToArray());
            }
            else if (name.EndsWith(".attn.c_attn.bias", StringComparison.Ordinal))
            {
                int width = shape[0] / 3;
                string prefix = name[..^"c_attn.bias".Length];
                for (int part = 0; part < 3; part++)
                    result[prefix + Projections[part] + ".bias"] = ([width], data.AsSpan(part * width, width).ToArray());
            }
            else if (ConvWeight().IsMatch(name)) result[name] = ([shape[1], shape[0]], Transpose(shape, data));
            else result[name] = (shape, data);
        }
        return result;
    }

    public static Dictionary<string, (int[] Shape, float[] Data)> FromModel(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> model)
    {
        var result = new Dictionary<string, (int[], float[])>(StringComparer.Ordinal);
        foreach (var (name, (shape, data)) in model)
        {
            if (name.EndsWith(".attn.q_proj.weight", StringComparison.Ordinal) || name.EndsWith(".attn.q_proj.bias", StringComparison.Ordinal))
            {
                bool isWeight = name.EndsWith("weight", StringComparison.Ordinal);
                string prefix = name[..^(isWeight ? "q_proj.weight" : "q_proj.bias").Length];
                var parts = Projections.Select(p => model[prefix + p + (isWeight ? ".weight" : ".bias")].Data).ToArray();
                var joined = parts.SelectMany(p => p).ToArray();
                int width = shape[0];
                result[prefix + (isWeight ? "c_attn.weight" : "c_attn.bias")] = isWeight
                    ? ([width, 3 * width], Transpose([3 * width, width], joined))
                    : ([3 * width], joined);
            }
            else if (name.Contains(".attn.k_proj.", StringComparison.Ordinal) || name.Contains(".attn.v_proj.", StringComparison.Ordinal)) continue;
            else if (ConvWeight().IsMatch(name)) result[name] = ([shape[1], shape[0]], Transpose(shape, data));
            else result[name] = (shape, data);
        }
        return result;
    }

    /// <summary>The Hugging Face names and shapes of a model whose state dict has these shapes: the shape-only twin of
    /// <see cref="FromModel"/>.</summary>
    private static Dictionary<string, int[]> LayoutShapes(IReadOnlyDictionary<string, int[]> model)
    {
        var result = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var (name, shape) in model)
        {
            if (name.EndsWith(".attn.q_proj.weight", StringComparison.Ordinal)) result[name[..^"q_proj.weight".Length] + "c_attn.weight"] = [shape[1], 3 * shape[0]];
            else if (name.EndsWith(".attn.q_proj.bias", StringComparison.Ordinal)) result[name[..^"q_proj.bias".Length] + "c_attn.bias"] = [3 * shape[0]];
            else if (name.Contains(".attn.k_proj.", StringComparison.Ordinal) || name.Contains(".attn.v_proj.", StringComparison.Ordinal)) continue;
            else if (ConvWeight().IsMatch(name)) result[name] = [shape[1], shape[0]];
            else result[name] = shape;
        }
        return result;
    }

    private static string Unprefixed(string name) => name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : name;

    /// <summary>The tied lm_head and the attention-mask buffers are in the file but are not parameters.</summary>
    private static bool IsIgnored(string name) =>
        name == "lm_head.weight" || name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal);

    private static string Format(int[] shape) => "[" + string.Join(", ", shape) + "]";

    private static readonly string[] Projections = ["q_proj", "k_proj", "v_proj"];

    private static float[] Transpose(int[] shape, float[] data)
    {
        int rows = shape[0], cols = shape[1];
        var t = new float[data.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c * rows + r] = data[r * cols + c];
        return t;
    }

    [GeneratedRegex(@"^h\.\d+\.(attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$")]
    private static partial Regex ConvWeight();
}
