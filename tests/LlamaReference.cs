namespace HardFocus.Tests;

/// <summary>
/// A LLaMA-family forward pass written from Hugging Face's modeling_llama.py / modeling_qwen2.py, in double, with plain
/// loops and nothing from the engine: embeddings, RMSNorm, q/k/v projections (biases where present), rotate-half RoPE,
/// repeat_kv, causal softmax attention, o_proj, SwiGLU MLP, final norm, LM head. Weights come as Hugging Face names.
/// </summary>
internal static class LlamaReference
{
    public sealed record Shape(int Vocab, int Width, int Mlp, int Layers, int Heads, int KvHeads, double Eps, double Theta, bool Tied);

    public static double[] Logits(Shape s, IReadOnlyDictionary<string, (int[] Shape, float[] Data)> w, int[] ids)
    {
        int t = ids.Length, d = s.Width / s.Heads, group = s.Heads / s.KvHeads;
        float[] W(string name) => w[name].Data;
        float[]? B(string name) => w.TryGetValue(name, out var b) ? b.Data : null;
        var x = new double[t][];
        for (int i = 0; i < t; i++) x[i] = W("model.embed_tokens.weight").Skip(ids[i] * s.Width).Take(s.Width).Select(v => (double)v).ToArray();
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            var h = x.Select(r => RmsNorm(r, W(p + "input_layernorm.weight"), s.Eps)).ToArray();
            var q = h.Select(r => Linear(r, W(p + "self_attn.q_proj.weight"), B(p + "self_attn.q_proj.bias"), s.Width)).ToArray();
            var k = h.Select(r => Linear(r, W(p + "self_attn.k_proj.weight"), B(p + "self_attn.k_proj.bias"), s.KvHeads * d)).ToArray();
            var v = h.Select(r => Linear(r, W(p + "self_attn.v_proj.weight"), B(p + "self_attn.v_proj.bias"), s.KvHeads * d)).ToArray();
            for (int i = 0; i < t; i++)
            {
                Rotate(q[i], s.Heads, d, i, s.Theta);
                Rotate(k[i], s.KvHeads, d, i, s.Theta);
            }
            var attended = new double[t][];
            for (int i = 0; i < t; i++)
            {
                attended[i] = new double[s.Width];
                for (int head = 0; head < s.Heads; head++)
                {
                    int kv = head / group; // repeat_kv: query head h reads key/value head h / group
                    var scores = new double[i + 1];
                    for (int j = 0; j <= i; j++)
                    {
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += q[i][head * d + c] * k[j][kv * d + c];
                        scores[j] = dot / Math.Sqrt(d);
                    }
                    double max = scores.Max(), sum = scores.Sum(sc => Math.Exp(sc - max));
                    for (int j = 0; j <= i; j++)
                        for (int c = 0; c < d; c++) attended[i][head * d + c] += Math.Exp(scores[j] - max) / sum * v[j][kv * d + c];
                }
            }
            for (int i = 0; i < t; i++)
            {
                var o = Linear(attended[i], W(p + "self_attn.o_proj.weight"), B(p + "self_attn.o_proj.bias"), s.Width);
                for (int c = 0; c < s.Width; c++) x[i][c] += o[c];
                var m = RmsNorm(x[i], W(p + "post_attention_layernorm.weight"), s.Eps);
                var gate = Linear(m, W(p + "mlp.gate_proj.weight"), null, s.Mlp);
                var up = Linear(m, W(p + "mlp.up_proj.weight"), null, s.Mlp);
                var act = gate.Select((g, c) => g / (1 + Math.Exp(-g)) * up[c]).ToArray();
                var down = Linear(act, W(p + "mlp.down_proj.weight"), null, s.Width);
                for (int c = 0; c < s.Width; c++) x[i][c] += down[c];
            }
        }
        var lmHead = W(s.Tied ? "model.embed_tokens.weight" : "lm_head.weight");
        return x.SelectMany(r => Linear(RmsNorm(r, W("model.norm.weight"), s.Eps), lmHead, null, s.Vocab)).ToArray();
    }

    private static double[] RmsNorm(double[] x, float[] gamma, double eps)
    {
        double inv = 1 / Math.Sqrt(x.Sum(v => v * v) / x.Length + eps);
        return x.Select((v, i) => v * inv * gamma[i]).ToArray();
    }

    /// <summary>y = W x + b with W [out, in].</summary>
    private static double[] Linear(double[] x, float[] weight, float[]? bias, int outFeatures)
    {
        var y = new double[outFeatures];
        for (int o = 0; o < outFeatures; o++)
        {
            double acc = bias?[o] ?? 0;
            for (int i = 0; i < x.Length; i++) acc += weight[o * x.Length + i] * x[i];
            y[o] = acc;
        }
        return y;
    }

    /// <summary>q * cos + rotate_half(q) * sin per head, rotate_half(q) = (-q[d/2:], q[:d/2]).</summary>
    private static void Rotate(double[] row, int heads, int d, int position, double theta)
    {
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < d / 2; i++)
            {
                double angle = position * Math.Pow(theta, -2.0 * i / d);
                double a = row[h * d + i], b = row[h * d + i + d / 2];
                row[h * d + i] = a * Math.Cos(angle) - b * Math.Sin(angle);
                row[h * d + i + d / 2] = b * Math.Cos(angle) + a * Math.Sin(angle);
            }
    }
}
