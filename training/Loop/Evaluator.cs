using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Models;
using HardFocus.Training.Data;

namespace HardFocus.Training;

public readonly record struct Evaluation(double Loss, double Perplexity, long Tokens);

public static class Evaluator
{
    /// <summary>Token-weighted mean cross-entropy over the samples' unmasked targets (at most
    /// <paramref name="maxBatches"/> batches, in order), and its perplexity.</summary>
    public static Evaluation Evaluate(DecoderModel model, IReadOnlyList<Sample> samples, int batchSize, int maxBatches = int.MaxValue)
    {
        bool wasTraining = model.Training;
        model.Training = false;
        double total = 0;
        long tokens = 0;
        try
        {
            using var noGrad = GradMode.NoGrad();
            for (int start = 0, b = 0; start < samples.Count && b < maxBatches; start += batchSize, b++)
            {
                var batch = samples.Skip(start).Take(batchSize).ToArray();
                using var scope = TensorScope.Begin();
                var (ids, targets, mask) = BatchTensors.Create(batch, model);
                var perSample = PerSampleLoss.Compute(model, ids, targets, mask).ToArray();
                for (int i = 0; i < batch.Length; i++)
                {
                    long count = (long)batch[i].Mask.Sum();
                    total += (double)perSample[i] * count;
                    tokens += count;
                }
            }
        }
        finally { model.Training = wasTraining; }
        double loss = tokens == 0 ? double.NaN : total / tokens;
        return new Evaluation(loss, Math.Exp(loss), tokens);
    }
}
