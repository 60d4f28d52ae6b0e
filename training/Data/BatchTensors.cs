using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Models;

namespace HardFocus.Training.Data;

/// <summary>Packs a batch of samples into the [batch, time] tensors a training step consumes.</summary>
public static class BatchTensors
{
    /// <summary>The batch on the model's backend, its ids checked against the model's vocabulary.</summary>
    public static (IndexTensor Ids, IndexTensor Targets, Tensor Mask) Create(IReadOnlyList<Sample> batch, DecoderModel model) =>
        Create(batch, model.Config.VocabSize, model.Backend);

    /// <summary>The tensors belong to the current <see cref="Engine.Autograd.TensorScope"/>, so they are freed with the step.
    /// Every input id, and every target the mask scores, must lie in [0, <paramref name="vocabSize"/>): this is the one
    /// place ids are checked, because past it a bad id is a crash on one backend and a silent NaN on another.</summary>
    public static (IndexTensor Ids, IndexTensor Targets, Tensor Mask) Create(IReadOnlyList<Sample> batch, int vocabSize, IBackend backend)
    {
        if (batch.Count == 0) throw new ArgumentException("The batch is empty.", nameof(batch));
        int b = batch.Count, t = batch[0].Input.Length;
        var ids = new int[b * t];
        var targets = new int[b * t];
        var mask = new float[b * t];
        for (int i = 0; i < b; i++)
        {
            var s = batch[i];
            if (s.Input.Length != t || s.Target.Length != t || s.Mask.Length != t)
                throw new ArgumentException($"Sample {i} has lengths {s.Input.Length}/{s.Target.Length}/{s.Mask.Length} (input/target/mask); the batch needs {t} throughout.", nameof(batch));
            s.Input.CopyTo(ids, i * t);
            s.Target.CopyTo(targets, i * t);
            s.Mask.CopyTo(mask, i * t);
            CheckIds(s, i, vocabSize);
        }
        var shape = new Shape(b, t);
        return (IndexTensor.FromArray(ids, shape, backend), IndexTensor.FromArray(targets, shape, backend), Tensor.FromArray(mask, shape, backend));
    }

    /// <summary>Masked targets are never read (padding may use any value there); inputs are all embedded, padding included.</summary>
    private static void CheckIds(Sample sample, int index, int vocabSize)
    {
        for (int p = 0; p < sample.Input.Length; p++)
        {
            if ((uint)sample.Input[p] >= (uint)vocabSize)
                throw new InvalidDataException($"Token id {sample.Input[p]} (sample {index}, position {p}) is outside the model's vocabulary of {vocabSize}; the tokenizer and the model do not match.");
            if (sample.Mask[p] != 0 && (uint)sample.Target[p] >= (uint)vocabSize)
                throw new InvalidDataException($"Target id {sample.Target[p]} (sample {index}, position {p}) is outside the model's vocabulary of {vocabSize}; the tokenizer and the model do not match.");
        }
    }
}
