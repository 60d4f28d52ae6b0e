using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

// One group per (head, row): the row's scores (or probabilities) sit in shared memory, so memory stays linear in seq and
// no seq x seq matrix is ever stored. Backward is two launches, one per query row (dq) and one per key/value row (dk, dv;
// it walks every query head that shares the key/value head), so every gradient row is written by exactly one group: no
// atomics, deterministic. Query head h reads key/value head h / group.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, int, int, int, float> AttentionK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, int, int, int, float>(AttentionKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int, float> AttentionDqK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int, float>(AttentionDqKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int, float> AttentionDkvK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int, float>(AttentionDkvKernel);

    public void CausalAttention(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, int heads, int queriesPerKvHead, int seq, int headDim, float scale)
    {
        if (heads * seq == 0 || headDim == 0) return;
        AttentionK(Groups(heads * seq, headDim + seq + _groupSize), V(q), V(k), V(v), V(output), V(logSumExp), queriesPerKvHead,
            seq, headDim, scale);
    }

    public void CausalAttentionBackward(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, DeviceBuffer<float> dOutput, DeviceBuffer<float> dq, DeviceBuffer<float> dk,
        DeviceBuffer<float> dv, int heads, int queriesPerKvHead, int seq, int headDim, float scale)
    {
        if (heads * seq == 0 || headDim == 0) return;
        // D_i = <dO_i, O_i> per query row, computed by the dq pass and reused by the dk/dv pass.
        var rowDots = Allocate<float>(heads * seq);
        AttentionDqK(Groups(heads * seq, 2 * headDim + seq + _groupSize), V(q), V(k), V(v), V(output), V(logSumExp), V(dOutput),
            V(dq), V(rowDots), queriesPerKvHead, seq, headDim, scale);
        AttentionDkvK(Groups(heads / queriesPerKvHead * seq, 2 * headDim + 2 * seq), V(q), V(k), V(v), V(logSumExp), V(dOutput),
            V(rowDots), V(dk), V(dv), queriesPerKvHead, seq, headDim, scale);
        rowDots.Release();
    }

    private static float Dot(Floats shared, Floats x, long offset, int dim)
    {
        float s = 0f;
        for (int d = 0; d < dim; d++) s += shared[d] * x[offset + d];
        return s;
    }

    private static void AttentionKernel(Floats q, Floats k, Floats v, Floats output, Floats logSumExp, int group, int seq, int dim, float scale)
    {
        var shared = SharedMemory.GetDynamic<float>();
        var qi = shared.SubView(0, dim);
        var scores = shared.SubView(dim, seq);
        var scratch = shared.SubView(dim + seq, Group.DimX);
        int problem = Grid.IdxX, i = problem % seq;
        long rowI = (long)problem * dim, kvHead = (long)(problem / seq / group) * seq * dim;
        for (int d = Group.IdxX; d < dim; d += Group.DimX) qi[d] = q[rowI + d];
        Group.Barrier();

        float max = float.NegativeInfinity;
        for (int j = Group.IdxX; j <= i; j += Group.DimX)
        {
            float s = scale * Dot(qi, k, kvHead + (long)j * dim, dim);
            scores[j] = s;
            max = XMath.Max(max, s);
        }
        max = GroupMax(scratch, max);
        float sum = 0f;
        for (int j = Group.IdxX; j <= i; j += Group.DimX)
        {
            float e = XMath.Exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        sum = GroupSum(scratch, sum);
        if (Group.IdxX == 0) logSumExp[problem] = max + XMath.Log(sum);
        float inv = 1f / sum;
        for (int d = Group.IdxX; d < dim; d += Group.DimX)
        {
            float acc = 0f;
            for (int j = 0; j <= i; j++) acc += scores[j] * v[kvHead + (long)j * dim + d];
            output[rowI + d] = acc * inv;
        }
    }

    private static void AttentionDqKernel(Floats q, Floats k, Floats v, Floats output, Floats logSumExp, Floats dOutput,
        Floats dq, Floats rowDots, int group, int seq, int dim, float scale)
    {
        var shared = SharedMemory.GetDynamic<float>();
        var qi = shared.SubView(0, dim);
        var doi = shared.SubView(dim, dim);
        var ds = shared.SubView(2 * dim, seq);
        var scratch = shared.SubView(2 * dim + seq, Group.DimX);
        int problem = Grid.IdxX, i = problem % seq;
        long rowI = (long)problem * dim, kvHead = (long)(problem / seq / group) * seq * dim;
        float partial = 0f;
        for (int d = Group.IdxX; d < dim; d += Group.DimX)
        {
            qi[d] = q[rowI + d];
            doi[d] = dOutput[rowI + d];
            partial += doi[d] * output[rowI + d];
        }
        float di = GroupSum(scratch, partial), lse = logSumExp[problem];
        if (Group.IdxX == 0) rowDots[problem] = di;

        for (int j = Group.IdxX; j <= i; j += Group.DimX)
        {
            long rowJ = kvHead + (long)j * dim;
            float p = XMath.Exp(scale * Dot(qi, k, rowJ, dim) - lse);
            ds[j] = p * (Dot(doi, v, rowJ, dim) - di) * scale;
        }
        Group.Barrier();
        for (int d = Group.IdxX; d < dim; d += Group.DimX)
        {
            float acc = 0f;
            for (int j = 0; j <= i; j++) acc += ds[j] * k[kvHead + (long)j * dim + d];
            dq[rowI + d] = acc;
        }
    }

    private static void AttentionDkvKernel(Floats q, Floats k, Floats v, Floats logSumExp, Floats dOutput, Floats rowDots,
        Floats dk, Floats dv, int group, int seq, int dim, float scale)
    {
        var shared = SharedMemory.GetDynamic<float>();
        var kj = shared.SubView(0, dim);
        var vj = shared.SubView(dim, dim);
        var ps = shared.SubView(2 * dim, seq);
        var ds = shared.SubView(2 * dim + seq, seq);
        int problem = Grid.IdxX, j = problem % seq, kvHead = problem / seq;
        long rowJ = (long)problem * dim;
        for (int d = Group.IdxX; d < dim; d += Group.DimX)
        {
            kj[d] = k[rowJ + d];
            vj[d] = v[rowJ + d];
        }
        Group.Barrier();

        // Row j of K and V receives gradient from every query row i >= j of every query head that reads this key/value head.
        for (int g = 0; g < group; g++)
        {
            int queryHead = kvHead * group + g, headRow = queryHead * seq;
            long head = (long)headRow * dim;
            for (int i = j + Group.IdxX; i < seq; i += Group.DimX)
            {
                long rowI = head + (long)i * dim;
                float p = XMath.Exp(scale * Dot(kj, q, rowI, dim) - logSumExp[headRow + i]);
                ps[i] = p;
                ds[i] = p * (Dot(vj, dOutput, rowI, dim) - rowDots[headRow + i]) * scale;
            }
            Group.Barrier();
            for (int d = Group.IdxX; d < dim; d += Group.DimX)
            {
                float accV = 0f, accK = 0f;
                for (int i = j; i < seq; i++)
                {
                    long at = head + (long)i * dim + d;
                    accV += ps[i] * dOutput[at];
                    accK += ds[i] * q[at];
                }
                // The first query head writes, the others add: the group owns this row, so no other group touches it.
                dv[rowJ + d] = g == 0 ? accV : dv[rowJ + d] + accV;
                dk[rowJ + d] = g == 0 ? accK : dk[rowJ + d] + accK;
            }
            // ps and ds are reused by the next query head.
            Group.Barrier();
        }
    }
}
