namespace HardFocus.Engine.Backends;

/// <summary>
/// The scalars of one AdamW update, computed once on the host so that every backend applies exactly the same ones.
/// PyTorch's AdamW: p *= 1 - lr*wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²;
/// p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// </summary>
/// <param name="Decay">1 - lr*wd: what the weights are multiplied by before the update (1 for a tensor that does not decay).</param>
/// <param name="StepSize">lr / (1 - b1^t): the learning rate with the first moment's bias correction.</param>
/// <param name="InvSqrtBc2">1 / sqrt(1 - b2^t): the second moment's bias correction, applied to sqrt(v).</param>
public readonly record struct AdamWStep(float Beta1, float Beta2, float Epsilon, float Decay, float StepSize, float InvSqrtBc2)
{
    /// <param name="step">The 1-based number of this update, which the bias corrections depend on.</param>
    public static AdamWStep Create(float learningRate, float beta1, float beta2, float epsilon, float weightDecay, int step) =>
        new(beta1, beta2, epsilon, 1f - learningRate * weightDecay,
            learningRate / (1f - MathF.Pow(beta1, step)), 1f / MathF.Sqrt(1f - MathF.Pow(beta2, step)));
}
