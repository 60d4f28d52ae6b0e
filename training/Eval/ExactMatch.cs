using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Models;
using HardFocus.Training.Data;

namespace HardFocus.Training.Eval;

/// <summary>
/// Exact-match accuracy of greedy decoding, computed in one forward per batch instead of one per generated token.
/// Greedy decoding reproduces a response exactly if and only if, fed the true response so far, the model's argmax at
/// every response position (including the final end-of-text) is the true next token: while the prefix matches, the
/// context greedy decoding sees is exactly the teacher-forced one. Ties go to the lowest token id, as in generation.
/// </summary>
public static class ExactMatch
{
    /// <summary>For each sample, whether every masked-in target is the argmax of the logits at its position.</summary>
    public static bool[] Score(DecoderModel model, IReadOnlyList<Sample> samples, int batchSize = 32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var correct = new bool[samples.Count];
        int vocab = model.Config.VocabSize;
        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            using var noGrad = GradMode.NoGrad();
            for (int start = 0; start < samples.Count; start += batchSize)
            {
                var batch = samples.Skip(start).Take(batchSize).ToArray();
                using var scope = TensorScope.Begin();
                var (ids, _, _) = BatchTensors.Create(batch, model);
                var logits = model.Forward(ids).ToArray();
                int length = batch[0].Input.Length;
                for (int b = 0; b < batch.Length; b++)
                {
                    bool all = true;
                    for (int t = 0; t < length && all; t++)
                    {
                        if (batch[b].Mask[t] == 0) continue;
                        var row = logits.AsSpan((b * length + t) * vocab, vocab);
                        all = ArgMax(row) == batch[b].Target[t];
                    }
                    correct[start + b] = all;
                }
            }
        }
        finally { model.Training = wasTraining; }
        return correct;
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
            if (row[i] > row[best]) best = i;
        return best;
    }
}
