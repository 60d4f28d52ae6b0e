using System.Runtime.Intrinsics;

namespace HardFocus.Engine.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void AdamW(DeviceBuffer<float> parameter, DeviceBuffer<float> gradient, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int count, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, int step)
    {
        float* p = P(parameter), g = P(gradient), m = P(firstMoment), v = P(secondMoment);
        var s = AdamWStep.Create(learningRate, beta1, beta2, epsilon, weightDecay, step);
        CpuParallel.For(count, ElementGrain, (start, end) => AdamWRange(p + start, g + start, m + start, v + start, end - start, s, s.Decay));
    }

    public void MultiTensorAdamW(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> firstMoments,
        DeviceBuffer<float> secondMoments, DeviceBuffer<int> chunks, int chunkCount, AdamWStep step)
    {
        float* p = P(parameters), g = P(gradients), m = P(firstMoments), v = P(secondMoments);
        int* table = P(chunks);
        // A parallel loop over the table: its chunks are small (at most ChunkTable.MaxChunkLength elements), so handing
        // them out as workers free up keeps the cores evenly busy however the tensors' sizes are spread.
        CpuParallel.ForEach(chunkCount, c =>
        {
            int* chunk = table + c * ChunkTable.IntsPerChunk;
            int at = chunk[0];
            AdamWRange(p + at, g + at, m + at, v + at, chunk[1], step, chunk[2] != 0 ? step.Decay : 1f);
        });
    }

    /// <summary>The update of <paramref name="count"/> consecutive elements. Each element's result depends only on its own
    /// values (the vector and scalar paths do the same operations in the same order), so any split of a tensor gives
    /// bitwise the same result.</summary>
    private static void AdamWRange(float* p, float* g, float* m, float* v, int count, AdamWStep s, float decay)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var b1 = Vector256.Create(s.Beta1); var c1 = Vector256.Create(1f - s.Beta1);
            var b2 = Vector256.Create(s.Beta2); var c2 = Vector256.Create(1f - s.Beta2);
            var dec = Vector256.Create(decay); var ss = Vector256.Create(s.StepSize);
            var ib = Vector256.Create(s.InvSqrtBc2); var ep = Vector256.Create(s.Epsilon);
            for (; i <= count - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var gv = Vector256.Load(g + i);
                var mv = b1 * Vector256.Load(m + i) + c1 * gv;
                var vv = b2 * Vector256.Load(v + i) + c2 * gv * gv;
                mv.Store(m + i);
                vv.Store(v + i);
                var pv = Vector256.Load(p + i) * dec - ss * mv / (Vector256.Sqrt(vv) * ib + ep);
                pv.Store(p + i);
            }
        }
        for (; i < count; i++)
        {
            m[i] = s.Beta1 * m[i] + (1f - s.Beta1) * g[i];
            v[i] = s.Beta2 * v[i] + (1f - s.Beta2) * g[i] * g[i];
            p[i] = p[i] * decay - s.StepSize * m[i] / (MathF.Sqrt(v[i]) * s.InvSqrtBc2 + s.Epsilon);
        }
    }
}
