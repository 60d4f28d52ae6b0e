using HardFocus.Engine;
using HardFocus.Models;

namespace HardFocus.Training;

public static class PerSampleLoss
{
    /// <summary>l_i = sum_t m_it CE(logits_it, y_it) / sum_t m_it: one loss per sequence, shape [batch]. Masked
    /// positions (padding, prompts) contribute nothing and get exactly zero gradient.</summary>
    public static Tensor Compute(DecoderModel model, IndexTensor ids, IndexTensor targets, Tensor mask) =>
        Ops.MaskedMean(Ops.CrossEntropy(model.Forward(ids), targets, mask), mask);
}
