using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, Floats, int, AdamWScalars> AdamWK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, int, AdamWScalars>(AdamWKernel);

    internal readonly record struct AdamWScalars(float Beta1, float Beta2, float Epsilon, float Decay, float StepSize, float InvSqrtBc2);

    public void AdamW(DeviceBuffer<float> parameter, DeviceBuffer<float> gradient, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int count, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, int step)
    {
        if (count == 0) return;
        // The bias corrections are computed on the host exactly as the CPU backend does, so both apply the same scalars:
        // p *= 1 - lr*wd; p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
        var s = new AdamWScalars(beta1, beta2, epsilon, 1f - learningRate * weightDecay,
            learningRate / (1f - MathF.Pow(beta1, step)), 1f / MathF.Sqrt(1f - MathF.Pow(beta2, step)));
        AdamWK(Stride(count), V(parameter), V(gradient), V(firstMoment), V(secondMoment), count, s);
    }

    private static void AdamWKernel(Floats p, Floats g, Floats m, Floats v, int count, AdamWScalars s)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float gi = g[i];
            float mi = s.Beta1 * m[i] + (1f - s.Beta1) * gi;
            float vi = s.Beta2 * v[i] + (1f - s.Beta2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * s.Decay - s.StepSize * mi / (XMath.Sqrt(vi) * s.InvSqrtBc2 + s.Epsilon);
        }
    }
}
