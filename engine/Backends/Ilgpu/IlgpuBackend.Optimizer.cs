using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, Floats, int, AdamWStep> AdamWK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, int, AdamWStep>(AdamWKernel);

    public void AdamW(DeviceBuffer<float> parameter, DeviceBuffer<float> gradient, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int count, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, int step)
    {
        if (count == 0) return;
        var s = AdamWStep.Create(learningRate, beta1, beta2, epsilon, weightDecay, step);
        AdamWK(Stride(count), V(parameter), V(gradient), V(firstMoment), V(secondMoment), count, s);
    }

    private static void AdamWKernel(Floats p, Floats g, Floats m, Floats v, int count, AdamWStep s)
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
