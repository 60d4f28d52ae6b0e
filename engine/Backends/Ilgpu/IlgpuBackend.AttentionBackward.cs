using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

// Causal attention backward as in FlashAttention-2, in three launches: D_i = <dO_i, O_i> per query row; then a group per
// key/value tile (and head-dimension slice) that walks the query tiles at or after it, for every query head sharing its
// key/value head, accumulating dK and dV; then a group per query tile that walks the key tiles at or before it,
// accumulating dQ. Probabilities are recomputed from q, k and the saved logsumexp. Every gradient element is written by
// exactly one thread after a fixed sequence of additions: no atomics, and the same bits on every run.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, int, int> AttentionRowDotsK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int, int>(AttentionRowDotsKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, AttentionArgs> AttentionKeyValueGradK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, Floats, Floats, AttentionArgs>(AttentionKeyValueGradKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, Floats, AttentionArgs> AttentionQueryGradK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, Floats, AttentionArgs>(AttentionQueryGradKernel);

    public void CausalAttentionBackward(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, DeviceBuffer<float> dOutput, DeviceBuffer<float> dq, DeviceBuffer<float> dk,
        DeviceBuffer<float> dv, int heads, int queriesPerKvHead, int seq, int headDim, float scale)
    {
        if (heads * seq == 0 || headDim == 0) return;
        var shape = new AttentionArgs(seq, headDim, queriesPerKvHead, scale, Tiling.Depth);
        var rowDots = Allocate<float>(heads * seq);
        AttentionRowDotsK(Stride(heads * seq), V(dOutput), V(output), V(rowDots), heads * seq, headDim);
        AttentionKeyValueGradK(AttentionLaunch(heads / queriesPerKvHead, seq, headDim, scoreTiles: 2, rowVectors: 2), V(q), V(k), V(v),
            V(logSumExp), V(dOutput), V(rowDots), V(dk), V(dv), shape);
        AttentionQueryGradK(AttentionLaunch(heads, seq, headDim, scoreTiles: 2, rowVectors: 2), V(q), V(k), V(v), V(logSumExp),
            V(dOutput), V(rowDots), V(dq), shape);
        rowDots.Release();
    }

    /// <summary>D_i = <dO_i, O_i>, which equals sum_j p_ij <dO_i, v_j>: the term the softmax Jacobian subtracts.</summary>
    private static void AttentionRowDotsKernel(Floats dOutput, Floats output, Floats rowDots, int rows, int headDim)
    {
        for (int row = Grid.GlobalIndex.X; row < rows; row += Grid.DimX * Group.DimX)
        {
            long at = (long)row * headDim;
            float sum = 0f;
            for (int d = 0; d < headDim; d++) sum += dOutput[at + d] * output[at + d];
            rowDots[row] = sum;
        }
    }

    /// <summary>The logsumexp and D of query rows i0 .. i0 + rows of a head into shared memory, zero past rows.</summary>
    private static void LoadQueryRows(Floats logSumExp, Floats rowDots, long first, int rows, Floats lse, Floats dots)
    {
        int threads = Group.DimX * Group.DimY;
        for (int r = Group.IdxY * Group.DimX + Group.IdxX; r < lse.IntLength; r += threads)
        {
            lse[r] = r < rows ? logSumExp[first + r] : 0f;
            dots[r] = r < rows ? rowDots[first + r] : 0f;
        }
    }

    /// <summary>Where a group's query tile (rows of them from i0, at qStart) and key/value tile (keys from j0, at kvStart)
    /// sit in their heads.</summary>
    internal readonly record struct TilePair(long QStart, int I0, int Rows, long KvStart, int J0, int Keys);

    /// <summary>P = exp(scale q k - lse) into <paramref name="probs"/> and dS = P (dO v - D) into <paramref name="dScores"/>
    /// for a tile pair, zero where the key is after the query or either lies past the sequence. With keysAsRows, row r of
    /// both tiles is key j0 + r and column c query i0 + c (the dK and dV products' left operands); otherwise the other way
    /// round (dQ's). Ends with each thread writing its own elements: a barrier must come before others read them.</summary>
    private static void ScoreGradients(Floats q, Floats k, Floats v, Floats dOutput, TilePair at, AttentionArgs s, bool keysAsRows,
        Floats lse, Floats dots, Floats staging, Floats probs, Floats dScores)
    {
        int tile = 4 * Group.DimX, pitch = tile + 1, threads = Group.DimX * Group.DimY;
        if (keysAsRows)
        {
            RowProducts(k, at.KvStart, at.Keys, q, at.QStart, at.Rows, s.HeadDim, s.Scale, s.Depth, staging, probs);
            RowProducts(v, at.KvStart, at.Keys, dOutput, at.QStart, at.Rows, s.HeadDim, 1f, s.Depth, staging, dScores);
        }
        else
        {
            RowProducts(q, at.QStart, at.Rows, k, at.KvStart, at.Keys, s.HeadDim, s.Scale, s.Depth, staging, probs);
            RowProducts(dOutput, at.QStart, at.Rows, v, at.KvStart, at.Keys, s.HeadDim, 1f, s.Depth, staging, dScores);
        }
        Group.Barrier();
        for (int e = Group.IdxY * Group.DimX + Group.IdxX; e < tile * tile; e += threads)
        {
            int r = e / tile, c = e % tile, query = keysAsRows ? c : r, key = keysAsRows ? r : c, i = r * pitch + c;
            float p = query < at.Rows && at.J0 + key <= at.I0 + query ? XMath.Exp(probs[i] - lse[query]) : 0f;
            probs[i] = p;
            dScores[i] = p * (dScores[i] - dots[query]);
        }
    }

    private static void AttentionKeyValueGradKernel(Floats q, Floats k, Floats v, Floats logSumExp, Floats dOutput, Floats rowDots,
        Floats dk, Floats dv, AttentionArgs s)
    {
        int tile = 4 * Group.DimX;
        var shared = SharedMemory.GetDynamic<float>();
        var staging = StagingArea(shared, s.Depth);
        // Transposed tiles: row r is key j0 + r, column c is query i0 + c, so each is the left operand of its product.
        Floats probs = ScoreTile(shared, s.Depth, 0), dScores = ScoreTile(shared, s.Depth, 1);
        Floats lse = RowVector(shared, s.Depth, 2, 0), dots = RowVector(shared, s.Depth, 2, 1);
        // The first key tiles of a head receive gradient from the most queries; they come first in the grid.
        int tiles = TileCount(s.Seq, tile), kvHead = Grid.IdxX / tiles, j0 = Grid.IdxX % tiles * tile;
        int keys = XMath.Min(tile, s.Seq - j0), col0 = Grid.IdxY * tile;
        long kvTile = ((long)kvHead * s.Seq + j0) * s.HeadDim;
        QuadBlock dkAcc = default, dvAcc = default;

        for (int head = kvHead * s.QueriesPerKvHead; head < (kvHead + 1) * s.QueriesPerKvHead; head++)
        {
            for (int i0 = j0; i0 < s.Seq; i0 += tile)
            {
                int rows = XMath.Min(tile, s.Seq - i0);
                long qStart = ((long)head * s.Seq + i0) * s.HeadDim;
                LoadQueryRows(logSumExp, rowDots, (long)head * s.Seq + i0, rows, lse, dots);
                ScoreGradients(q, k, v, dOutput, new TilePair(qStart, i0, rows, kvTile, j0, keys), s, keysAsRows: true, lse, dots,
                    staging, probs, dScores);
                dvAcc = AccumulateProduct(dvAcc, probs, dOutput, qStart, rows, s.HeadDim, col0, s.Depth, staging);
                dkAcc = AccumulateProduct(dkAcc, dScores, q, qStart, rows, s.HeadDim, col0, s.Depth, staging);
            }
        }
        WriteBlock(dvAcc, Quad.Same(1f), dv, kvTile, keys, s.HeadDim, col0);
        WriteBlock(dkAcc, Quad.Same(s.Scale), dk, kvTile, keys, s.HeadDim, col0);
    }

    private static void AttentionQueryGradKernel(Floats q, Floats k, Floats v, Floats logSumExp, Floats dOutput, Floats rowDots,
        Floats dq, AttentionArgs s)
    {
        int tile = 4 * Group.DimX;
        var shared = SharedMemory.GetDynamic<float>();
        var staging = StagingArea(shared, s.Depth);
        // Row r is query i0 + r, column c is key j0 + c.
        Floats probs = ScoreTile(shared, s.Depth, 0), dScores = ScoreTile(shared, s.Depth, 1);
        Floats lse = RowVector(shared, s.Depth, 2, 0), dots = RowVector(shared, s.Depth, 2, 1);
        // The last query tiles of a head attend to the most keys: they go first.
        int tiles = TileCount(s.Seq, tile), head = Grid.IdxX / tiles, i0 = (tiles - 1 - Grid.IdxX % tiles) * tile;
        int rows = XMath.Min(tile, s.Seq - i0), col0 = Grid.IdxY * tile;
        long qStart = ((long)head * s.Seq + i0) * s.HeadDim, kvStart = (long)(head / s.QueriesPerKvHead) * s.Seq * s.HeadDim;
        LoadQueryRows(logSumExp, rowDots, (long)head * s.Seq + i0, rows, lse, dots);
        QuadBlock acc = default;

        for (int j0 = 0; j0 <= i0; j0 += tile)
        {
            int keys = XMath.Min(tile, s.Seq - j0);
            long kvTile = kvStart + (long)j0 * s.HeadDim;
            ScoreGradients(q, k, v, dOutput, new TilePair(qStart, i0, rows, kvTile, j0, keys), s, keysAsRows: false, lse, dots,
                staging, probs, dScores);
            acc = AccumulateProduct(acc, dScores, k, kvTile, keys, s.HeadDim, col0, s.Depth, staging);
        }
        WriteBlock(acc, Quad.Same(s.Scale), dq, qStart, rows, s.HeadDim, col0);
    }
}
