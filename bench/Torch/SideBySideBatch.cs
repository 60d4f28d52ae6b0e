using HardFocus.Engine;
using HardFocus.Training.Data;

namespace HardFocus.Bench.Torch;

/// <summary>The batch both sides see: token ids, next-token targets and the loss mask, as the engine's samples and as
/// flat arrays for TorchSharp.</summary>
internal sealed record SideBySideBatch(Sample[] Samples, int Batch, int Seq)
{
    public int[] Ids => Samples.SelectMany(s => s.Input).ToArray();
    public int[] Targets => Samples.SelectMany(s => s.Target).ToArray();
    public float[] Mask => Samples.SelectMany(s => s.Mask).ToArray();
    public int Tokens => Batch * Seq;

    /// <summary>Random full-length sequences with every target scored: the shape of a language-modelling step.</summary>
    public static SideBySideBatch Full(int batch, int seq, int vocab, ulong seed)
    {
        var rng = new Rng(seed);
        var samples = new Sample[batch];
        for (int i = 0; i < batch; i++)
        {
            var tokens = Enumerable.Range(0, seq + 1).Select(_ => rng.NextInt(vocab)).ToArray();
            samples[i] = new Sample(tokens[..seq], tokens[1..], Enumerable.Repeat(1f, seq).ToArray());
        }
        return new SideBySideBatch(samples, batch, seq);
    }

    /// <summary>Sequences of different lengths padded on the right with token 0 and masked there, and the first few
    /// targets of every other sequence masked as a prompt would be, so every sample averages over its own count of
    /// tokens. Each sample keeps at least two scored targets.</summary>
    public static SideBySideBatch Padded(int batch, int seq, int vocab, ulong seed)
    {
        var rng = new Rng(seed);
        var samples = new Sample[batch];
        for (int i = 0; i < batch; i++)
        {
            // L real tokens, L from seq down to 4; inputs past them are padding, targets are the next real token.
            int length = seq - i * (seq - 4) / Math.Max(1, batch - 1);
            int prompt = i % 2 == 1 ? Math.Min(length - 3, 1 + i % 4) : 0;
            var tokens = Enumerable.Range(0, length).Select(_ => rng.NextInt(vocab)).ToArray();
            var input = new int[seq];
            var target = new int[seq];
            var mask = new float[seq];
            for (int t = 0; t < length; t++) input[t] = tokens[t];
            for (int t = 0; t < length - 1; t++)
            {
                target[t] = tokens[t + 1];
                mask[t] = t >= prompt ? 1f : 0f;
            }
            samples[i] = new Sample(input, target, mask);
        }
        return new SideBySideBatch(samples, batch, seq);
    }
}
