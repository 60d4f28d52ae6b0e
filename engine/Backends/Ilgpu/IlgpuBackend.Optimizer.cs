using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, Floats, int, AdamWStep> AdamWK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, int, AdamWStep>(AdamWKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, ArrayView<int>, int, AdamWStep> MultiTensorAdamWK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, ArrayView<int>, int, AdamWStep>(MultiTensorAdamWKernel);

    public void AdamW(DeviceBuffer<float> parameter, DeviceBuffer<float> gradient, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int count, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, int step)
    {
        if (count == 0) return;
        var s = AdamWStep.Create(learningRate, beta1, beta2, epsilon, weightDecay, step);
        AdamWK(Stride(count), V(parameter), V(gradient), V(firstMoment), V(secondMoment), count, s);
    }

    public void MultiTensorAdamW(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> firstMoments,
        DeviceBuffer<float> secondMoments, DeviceBuffer<int> chunks, int chunkCount, AdamWStep step)
    {
        if (chunkCount == 0) return;
        var config = new KernelConfig(Math.Min(chunkCount, _strideGroups), _groupSize);
        MultiTensorAdamWK(config, V(parameters), V(gradients), V(firstMoments), V(secondMoments), V(chunks), chunkCount, step);
    }

    private static void AdamWKernel(Floats p, Floats g, Floats m, Floats v, int count, AdamWStep s)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX) AdamWElement(p, g, m, v, i, s, s.Decay);
    }

    /// <summary>A group per chunk (striding over the chunks), its threads striding through the chunk: reads stay coalesced
    /// and a large tensor, cut into many chunks, spreads over every group.</summary>
    private static void MultiTensorAdamWKernel(Floats p, Floats g, Floats m, Floats v, ArrayView<int> chunks, int chunkCount, AdamWStep s)
    {
        for (int c = Grid.IdxX; c < chunkCount; c += Grid.DimX)
        {
            int offset = chunks[c * ChunkTable.IntsPerChunk], end = offset + chunks[c * ChunkTable.IntsPerChunk + 1];
            float decay = chunks[c * ChunkTable.IntsPerChunk + 2] != 0 ? s.Decay : 1f;
            for (int i = offset + Group.IdxX; i < end; i += Group.DimX) AdamWElement(p, g, m, v, i, s, decay);
        }
    }

    private static void AdamWElement(Floats p, Floats g, Floats m, Floats v, int i, AdamWStep s, float decay)
    {
        float gi = g[i];
        float mi = s.Beta1 * m[i] + (1f - s.Beta1) * gi;
        float vi = s.Beta2 * v[i] + (1f - s.Beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - s.StepSize * mi / (XMath.Sqrt(vi) * s.InvSqrtBc2 + s.Epsilon);
    }
}
