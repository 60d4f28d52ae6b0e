using HardFocus.Engine.Autograd;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>
    /// Fused softmax cross-entropy, one loss per position: logits [..., vocab], targets [...] (ids), optional mask
    /// [...] of 0/1. Masked positions get loss 0 and exactly zero gradient. Backward takes any per-position upstream
    /// gradient, which is how per-sample weights reach the tokens.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, IndexTensor targets, Tensor? mask = null)
    {
        var backend = BackendOf(logits, mask);
        if (!ReferenceEquals(targets.Backend, backend)) throw new ArgumentException("CrossEntropy: targets live on another backend.");
        int vocab = logits.Shape.Last, rows = logits.Shape.Rows;
        var rowShape = new Shape(logits.Shape.Dims[..^1].ToArray());
        if (targets.Shape != rowShape) throw new ArgumentException($"CrossEntropy: targets {targets.Shape} should be {rowShape} for logits {logits.Shape}.");
        if (mask != null && mask.Shape != rowShape) throw new ArgumentException($"CrossEntropy: mask {mask.Shape} should be {rowShape}.");

        var losses = Tensor.Empty(rowShape, backend);
        var logSumExp = Tensor.Empty(rowShape, backend);
        backend.CrossEntropy(logits.Buffer, targets.Buffer, mask?.Buffer, losses.Buffer, logSumExp.Buffer, rows, vocab);
        Node.Record(losses, [logits], gy =>
        {
            var dLogits = NewGrad(logits);
            backend.CrossEntropyBackward(logits.Buffer, targets.Buffer, mask?.Buffer, logSumExp.Buffer, gy.Buffer, dLogits.Buffer, rows, vocab);
            logits.AccumulateGrad(dLogits);
        });
        return losses;
    }
}
