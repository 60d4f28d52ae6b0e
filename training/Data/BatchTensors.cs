using HardFocus.Engine;
using HardFocus.Engine.Backends;

namespace HardFocus.Training.Data;

/// <summary>Packs a batch of samples into the [batch, time] tensors a training step consumes.</summary>
public static class BatchTensors
{
    /// <summary>The tensors belong to the current <see cref="Engine.Autograd.TensorScope"/>, so they are freed with the step.</summary>
    public static (IndexTensor Ids, IndexTensor Targets, Tensor Mask) Create(IReadOnlyList<Sample> batch, IBackend backend)
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
        }
        var shape = new Shape(b, t);
        return (IndexTensor.FromArray(ids, shape, backend), IndexTensor.FromArray(targets, shape, backend), Tensor.FromArray(mask, shape, backend));
    }
}
