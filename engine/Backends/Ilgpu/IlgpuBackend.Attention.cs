using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

// Causal attention forward, tiled as in FlashAttention: a group owns a tile of query rows of one head and walks the
// key/value tiles at or before its last row, staging each through shared memory once for all of its rows, with an online
// softmax (a running max and sum per row; the accumulator is rescaled whenever the max grows). No seq x seq matrix and no
// shared memory that grows with seq. A group also owns one tile-wide slice of the head dimensions, so its accumulator is
// a fixed 4 x 4 block per thread whatever the head size; past one slice the scores are recomputed per slice. Query head h
// reads key/value head h / queriesPerKvHead.
//
// Backward (for now) runs a group per query row for dq and one per key/value row for dk and dv, every gradient row
// written by exactly one group: no atomics, deterministic.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, AttentionArgs> AttentionK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, AttentionArgs>(AttentionKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int, float> AttentionDqK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int, float>(AttentionDqKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int, float> AttentionDkvK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int, float>(AttentionDkvKernel);

    public void CausalAttention(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, int heads, int queriesPerKvHead, int seq, int headDim, float scale)
    {
        if (heads * seq == 0 || headDim == 0) return;
        AttentionK(AttentionLaunch(heads, seq, headDim, scoreTiles: 1, rowVectors: 3), V(q), V(k), V(v), V(output), V(logSumExp),
            new AttentionArgs(seq, headDim, queriesPerKvHead, scale, Tiling.Depth));
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

    private static void AttentionKernel(Floats q, Floats k, Floats v, Floats output, Floats logSumExp, AttentionArgs s)
    {
        int side = Group.DimX, tile = 4 * side, pitch = tile + 1, t = Group.IdxY * side + Group.IdxX, threads = side * side;
        var shared = SharedMemory.GetDynamic<float>();
        var staging = StagingArea(shared, s.Depth);
        var probs = ScoreTile(shared, s.Depth, 0);
        Floats rowMax = RowVector(shared, s.Depth, 1, 0), rowSum = RowVector(shared, s.Depth, 1, 1);
        Floats rowRescale = RowVector(shared, s.Depth, 1, 2);
        // The last query tiles of a head attend to the most keys: they go first, so the short ones fill in at the end.
        int tiles = TileCount(s.Seq, tile), head = Grid.IdxX / tiles, i0 = (tiles - 1 - Grid.IdxX % tiles) * tile;
        int rows = XMath.Min(tile, s.Seq - i0), col0 = Grid.IdxY * tile;
        long qStart = ((long)head * s.Seq + i0) * s.HeadDim, kvStart = (long)(head / s.QueriesPerKvHead) * s.Seq * s.HeadDim;
        for (int r = t; r < tile; r += threads)
        {
            rowMax[r] = float.NegativeInfinity;
            rowSum[r] = 0f;
        }
        QuadBlock acc = default;

        for (int j0 = 0; j0 <= i0; j0 += tile)
        {
            int keys = XMath.Min(tile, s.Seq - j0);
            long kvTile = kvStart + (long)j0 * s.HeadDim;
            RowProducts(q, qStart, rows, k, kvTile, keys, s.HeadDim, s.Scale, s.Depth, staging, probs);
            Group.Barrier();
            // Key j0 + c is visible to row i0 + r when c <= i0 + r - j0; every row sees at least key j0, so the max is finite
            // (and the first tile's rescale is exp(-inf) = 0).
            for (int r = t; r < tile; r += threads)
            {
                float max = rowMax[r];
                for (int c = 0; c < tile && j0 + c <= i0 + r; c++) max = XMath.Max(max, probs[r * pitch + c]);
                rowRescale[r] = XMath.Exp(rowMax[r] - max);
                rowMax[r] = max;
            }
            Group.Barrier();
            for (int e = t; e < tile * tile; e += threads)
            {
                int r = e / tile, c = e % tile, at = r * pitch + c;
                probs[at] = j0 + c <= i0 + r ? XMath.Exp(probs[at] - rowMax[r]) : 0f;
            }
            Group.Barrier();
            for (int r = t; r < tile; r += threads)
            {
                float sum = 0f;
                for (int c = 0; c < tile; c++) sum += probs[r * pitch + c];
                rowSum[r] = rowSum[r] * rowRescale[r] + sum;
            }
            acc = acc.ScaleRows(Spaced(rowRescale, Group.IdxY, side));
            acc = AccumulateProduct(acc, probs, v, kvTile, keys, s.HeadDim, col0, s.Depth, staging);
        }

        // The last product ended on a barrier, so every row's sum is final.
        if (Grid.IdxY == 0)
            for (int r = t; r < rows; r += threads) logSumExp[head * s.Seq + i0 + r] = rowMax[r] + XMath.Log(rowSum[r]);
        WriteBlock(acc, Spaced(rowSum, Group.IdxY, side).Reciprocal(), output, qStart, rows, s.HeadDim, col0);
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
