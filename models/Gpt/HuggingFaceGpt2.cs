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

    public static Dictionary<string, (int[] Shape, float[] Data)> ToModel(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> hf)
    {
        var result = new Dictionary<string, (int[], float[])>(StringComparer.Ordinal);
        foreach (var (rawName, (shape, data)) in hf)
        {
            string name = rawName.StartsWith("transformer.", StringComparison.Ordinal) ? rawName["transformer.".Length..] : rawName;
            if (name == "lm_head.weight" || name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal))
                continue;
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
