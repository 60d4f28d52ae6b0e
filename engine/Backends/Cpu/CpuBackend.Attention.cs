using System.Buffers;
using System.Numerics.Tensors;

namespace HardFocus.Engine.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    // Each (batch, head) problem is independent, so heads are the unit of parallel work and need no locks.
    public void CausalAttention(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, int heads, int seq, int headDim, float scale)
    {
        float* pq = P(q), pk = P(k), pv = P(v), po = P(output), plse = P(logSumExp);
        CpuParallel.For(heads, 1, (s, e) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(seq);
            for (int h = s; h < e; h++)
            {
                long head = (long)h * seq * headDim;
                for (int i = 0; i < seq; i++)
                {
                    var scores = scratch.AsSpan(0, i + 1);
                    var qi = new ReadOnlySpan<float>(pq + head + (long)i * headDim, headDim);
                    for (int j = 0; j <= i; j++)
                        scores[j] = scale * TensorPrimitives.Dot(qi, new ReadOnlySpan<float>(pk + head + (long)j * headDim, headDim));
                    float max = TensorPrimitives.Max(scores);
                    TensorPrimitives.Subtract(scores, max, scores);
                    TensorPrimitives.Exp(scores, scores);
                    float total = TensorPrimitives.Sum(scores);
                    plse[(long)h * seq + i] = max + MathF.Log(total);
                    var oi = new Span<float>(po + head + (long)i * headDim, headDim);
                    oi.Clear();
                    float norm = 1f / total;
                    for (int j = 0; j <= i; j++)
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(pv + head + (long)j * headDim, headDim), scores[j] * norm, oi, oi);
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }

    public void CausalAttentionBackward(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, DeviceBuffer<float> dOutput, DeviceBuffer<float> dq, DeviceBuffer<float> dk,
        DeviceBuffer<float> dv, int heads, int seq, int headDim, float scale)
    {
        float* pq = P(q), pk = P(k), pv = P(v), po = P(output), plse = P(logSumExp), pdo = P(dOutput);
        float* pdq = P(dq), pdk = P(dk), pdv = P(dv);
        CpuParallel.For(heads, 1, (s, e) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(seq);
            for (int h = s; h < e; h++)
            {
                long head = (long)h * seq * headDim;
                new Span<float>(pdk + head, seq * headDim).Clear();
                new Span<float>(pdv + head, seq * headDim).Clear();
                for (int i = 0; i < seq; i++)
                {
                    var dS = scratch.AsSpan(0, i + 1);
                    long rowI = head + (long)i * headDim;
                    var qi = new ReadOnlySpan<float>(pq + rowI, headDim);
                    var doi = new ReadOnlySpan<float>(pdo + rowI, headDim);
                    var dqi = new Span<float>(pdq + rowI, headDim);
                    float lse = plse[(long)h * seq + i];
                    // D_i = <dO_i, O_i> equals sum_j p_ij <dO_i, v_j>, the softmax Jacobian's subtracted term.
                    float di = TensorPrimitives.Dot(doi, new ReadOnlySpan<float>(po + rowI, headDim));
                    dqi.Clear();
                    for (int j = 0; j <= i; j++)
                    {
                        long rowJ = head + (long)j * headDim;
                        var kj = new ReadOnlySpan<float>(pk + rowJ, headDim);
                        var vj = new ReadOnlySpan<float>(pv + rowJ, headDim);
                        float p = MathF.Exp(scale * TensorPrimitives.Dot(qi, kj) - lse);
                        var dvj = new Span<float>(pdv + rowJ, headDim);
                        TensorPrimitives.MultiplyAdd(doi, p, dvj, dvj);
                        float ds = p * (TensorPrimitives.Dot(doi, vj) - di) * scale;
                        TensorPrimitives.MultiplyAdd(kj, ds, dqi, dqi);
                        var dkj = new Span<float>(pdk + rowJ, headDim);
                        TensorPrimitives.MultiplyAdd(qi, ds, dkj, dkj);
                    }
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }
}
