using System.Runtime.Intrinsics;

namespace HardFocus.Engine.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void AdamW(DeviceBuffer<float> parameter, DeviceBuffer<float> gradient, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int count, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, int step)
    {
        float* p = P(parameter), g = P(gradient), m = P(firstMoment), v = P(secondMoment);
        // PyTorch's AdamW: p *= 1 - lr*wd; p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
        float decay = 1f - learningRate * weightDecay;
        float stepSize = learningRate / (1f - MathF.Pow(beta1, step));
        float invSqrtBc2 = 1f / MathF.Sqrt(1f - MathF.Pow(beta2, step));
        CpuParallel.For(count, ElementGrain, (s, e) =>
        {
            int i = s;
            if (Vector256.IsHardwareAccelerated)
            {
                var b1 = Vector256.Create(beta1); var c1 = Vector256.Create(1f - beta1);
                var b2 = Vector256.Create(beta2); var c2 = Vector256.Create(1f - beta2);
                var dec = Vector256.Create(decay); var ss = Vector256.Create(stepSize);
                var ib = Vector256.Create(invSqrtBc2); var ep = Vector256.Create(epsilon);
                for (; i <= e - Vector256<float>.Count; i += Vector256<float>.Count)
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
            for (; i < e; i++)
            {
                m[i] = beta1 * m[i] + (1f - beta1) * g[i];
                v[i] = beta2 * v[i] + (1f - beta2) * g[i] * g[i];
                p[i] = p[i] * decay - stepSize * m[i] / (MathF.Sqrt(v[i]) * invSqrtBc2 + epsilon);
            }
        });
    }
}
