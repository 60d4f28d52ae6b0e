namespace HardFocus.Engine;

/// <summary>
/// The cosines and sines of rotary position embedding for positions [start, start + count): angle(p, i) = p * theta^(-2i / d)
/// for i &lt; d / 2. Computed as Hugging Face's LlamaRotaryEmbedding does, in float32 (inverse frequencies, then the
/// product with the position), so a checkpoint's logits match its reference implementation; only cos and sin themselves
/// are taken in double and rounded once.
/// </summary>
public static class RotaryTable
{
    public static (float[] Cos, float[] Sin) Compute(int start, int count, int headDim, float theta)
    {
        int half = headDim / 2;
        var invFreq = new float[half];
        for (int i = 0; i < half; i++) invFreq[i] = 1f / MathF.Pow(theta, 2 * i / (float)headDim);
        var cos = new float[count * half];
        var sin = new float[count * half];
        for (int p = 0; p < count; p++)
            for (int i = 0; i < half; i++)
            {
                float angle = (start + p) * invFreq[i];
                cos[p * half + i] = (float)Math.Cos(angle);
                sin[p * half + i] = (float)Math.Sin(angle);
            }
        return (cos, sin);
    }
}
