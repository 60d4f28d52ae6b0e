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
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, AttentionArgs> AttentionK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, AttentionArgs>(AttentionKernel);

    public void CausalAttention(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, int heads, int queriesPerKvHead, int seq, int headDim, float scale)
    {
        if (heads * seq == 0 || headDim == 0) return;
        AttentionK(AttentionLaunch(heads, seq, headDim, scoreTiles: 1, rowVectors: 3), V(q), V(k), V(v), V(output), V(logSumExp),
            new AttentionArgs(seq, headDim, queriesPerKvHead, scale, Tiling.Depth));
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
}
