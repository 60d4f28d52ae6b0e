using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

// The building blocks of the tiled attention kernels. A group is side x side threads working on square tiles of
// tile = 4 side query rows, keys or head dimensions; thread (tx, ty) owns rows ty + side a and columns tx + side b
// (a, b < 4) of a tile, a 4 x 4 block in registers, so each value it reads from shared memory feeds four multiply-adds.
// Operands read from global memory are staged through shared memory in slices `depth` rows deep. Shared memory holds
// two such slices, a kernel's score tiles (pitch tile + 1, so walks down a column spread over the banks) and a few
// per-row vectors: its size depends on side and depth, never on the sequence or the head size.
public sealed partial class IlgpuBackend
{
    /// <summary>Four floats of one thread's block: a row of it, or the four operands it reads at one depth.</summary>
    internal readonly struct Quad(float x0, float x1, float x2, float x3)
    {
        public readonly float X0 = x0, X1 = x1, X2 = x2, X3 = x3;
        public static Quad Same(float x) => new(x, x, x, x);
        public Quad MultiplyAdd(float a, Quad b) => new(X0 + a * b.X0, X1 + a * b.X1, X2 + a * b.X2, X3 + a * b.X3);
        public Quad Times(float a) => new(a * X0, a * X1, a * X2, a * X3);
        public Quad Reciprocal() => new(1f / X0, 1f / X1, 1f / X2, 1f / X3);
    }

    /// <summary>A thread's 4 x 4 block of accumulators, one <see cref="Quad"/> per row.</summary>
    internal readonly struct QuadBlock(Quad r0, Quad r1, Quad r2, Quad r3)
    {
        public readonly Quad R0 = r0, R1 = r1, R2 = r2, R3 = r3;
        public QuadBlock AddOuter(Quad column, Quad row) =>
            new(R0.MultiplyAdd(column.X0, row), R1.MultiplyAdd(column.X1, row), R2.MultiplyAdd(column.X2, row), R3.MultiplyAdd(column.X3, row));
        public QuadBlock ScaleRows(Quad factors) => new(R0.Times(factors.X0), R1.Times(factors.X1), R2.Times(factors.X2), R3.Times(factors.X3));
    }

    /// <summary>What every attention kernel takes besides its tensors; Depth is the staging slice depth of <see cref="Tiling"/>.</summary>
    internal readonly record struct AttentionArgs(int Seq, int HeadDim, int QueriesPerKvHead, float Scale, int Depth);

    private readonly record struct AttentionTiling(int Side, int Depth);

    private static int TileCount(int length, int tile) => (length + tile - 1) / tile;

    /// <summary>Floats of shared memory for a kernel with <paramref name="scoreTiles"/> score tiles and
    /// <paramref name="rowVectors"/> per-row vectors; the kernels lay it out through the views below.</summary>
    private static int AttentionSharedFloats(int side, int depth, int scoreTiles, int rowVectors) =>
        (2 * depth + scoreTiles * 4 * side) * (4 * side + 1) + rowVectors * 4 * side;

    /// <summary>A launch with side x side groups: one per tile of <paramref name="seq"/> of each of <paramref name="problems"/>
    /// heads in x, one per tile-wide slice of the head dimensions in y.</summary>
    private KernelConfig AttentionLaunch(int problems, int seq, int headDim, int scoreTiles, int rowVectors)
    {
        var (side, depth) = Tiling;
        int tile = 4 * side;
        return new KernelConfig(new Index3D(problems * TileCount(seq, tile), TileCount(headDim, tile), 1), new Index3D(side, side, 1),
            SharedMemoryConfig.RequestDynamic<float>(AttentionSharedFloats(side, depth, scoreTiles, rowVectors)));
    }

    private AttentionTiling Tiling => field.Side > 0 ? field : field = FitTiling();

    /// <summary>Side: the square root of the group size (4 on the 16-thread CPU emulator, 16 on a 256-thread GPU group),
    /// halved while the largest kernels (the backward ones: two score tiles, two row vectors) would not fit the device's
    /// shared memory. Depth: from side up to the whole tile, as deep as those kernels still fit, since each slice costs
    /// two barriers. A GPU's 48 KiB leave side-deep slices at side 16; the emulator, whose barriers are its main cost and
    /// whose shared memory is unbounded, takes whole tiles.</summary>
    private AttentionTiling FitTiling()
    {
        int side = 1 << ((31 - int.LeadingZeroCount(_groupSize)) / 2);
        while (side > 1 && !Fits(side, side)) side /= 2;
        int depth = side;
        while (depth < 4 * side && Fits(side, 2 * depth)) depth *= 2;
        return new AttentionTiling(side, depth);

        bool Fits(int s, int d) => (long)AttentionSharedFloats(s, d, 2, 2) * sizeof(float) <= _accelerator.MaxSharedMemoryPerGroup;
    }

    private static Floats StagingArea(Floats shared, int depth) => shared.SubView(0, 2 * depth * (4 * Group.DimX + 1));

    private static Floats ScoreTile(Floats shared, int depth, int index)
    {
        int tile = 4 * Group.DimX, pitch = tile + 1;
        return shared.SubView((2 * depth + index * tile) * pitch, tile * pitch);
    }

    private static Floats RowVector(Floats shared, int depth, int scoreTiles, int index)
    {
        int tile = 4 * Group.DimX;
        return shared.SubView((2 * depth + scoreTiles * tile) * (tile + 1) + index * tile, tile);
    }

    /// <summary>Four values of <paramref name="view"/> <paramref name="step"/> apart, from <paramref name="at"/>.</summary>
    private static Quad Spaced(Floats view, int at, int step) => new(view[at], view[at + step], view[at + 2 * step], view[at + 3 * step]);

    /// <summary>scores[r, c] = alpha sum_d a[r, d] b[c, d] over the tile's rows r of a and c of b (row-major, headDim wide,
    /// from aStart and bStart; rows at or past aRows, bRows read as zero), staging slices of both through shared memory.
    /// Ends with the tile written by each thread for its own block: a barrier must come before others read it.</summary>
    private static void RowProducts(Floats a, long aStart, int aRows, Floats b, long bStart, int bRows, int headDim, float alpha,
        int depth, Floats staging, Floats scores)
    {
        int side = Group.DimX, tile = 4 * side, pitch = tile + 1, tx = Group.IdxX, ty = Group.IdxY, threads = side * side;
        var sa = staging.SubView(0, depth * pitch);
        var sb = staging.SubView(depth * pitch, depth * pitch);
        QuadBlock acc = default;
        for (int d0 = 0; d0 < headDim; d0 += depth)
        {
            // Consecutive threads read consecutive dimensions of a row.
            for (int e = ty * side + tx; e < depth * tile; e += threads)
            {
                int row = e / depth, p = e % depth, d = d0 + p;
                sa[p * pitch + row] = row < aRows && d < headDim ? a[aStart + (long)row * headDim + d] : 0f;
                sb[p * pitch + row] = row < bRows && d < headDim ? b[bStart + (long)row * headDim + d] : 0f;
            }
            Group.Barrier();
            for (int p = 0; p < depth; p++)
                acc = acc.AddOuter(Spaced(sa, p * pitch + ty, side), Spaced(sb, p * pitch + tx, side));
            Group.Barrier();
        }
        int at = ty * pitch + tx, rowStep = side * pitch;
        WriteShared(scores, at, side, acc.R0.Times(alpha));
        WriteShared(scores, at + rowStep, side, acc.R1.Times(alpha));
        WriteShared(scores, at + 2 * rowStep, side, acc.R2.Times(alpha));
        WriteShared(scores, at + 3 * rowStep, side, acc.R3.Times(alpha));
    }

    private static void WriteShared(Floats view, int at, int step, Quad values)
    {
        view[at] = values.X0;
        view[at + step] = values.X1;
        view[at + 2 * step] = values.X2;
        view[at + 3 * step] = values.X3;
    }

    /// <summary>acc + left b: left is a tile x tile matrix in shared memory (row r, depth p), b supplies the depth rows
    /// from bStart (row-major, headDim wide; rows at or past bRows read as zero) and this group's columns col0 .. col0 +
    /// tile (those past headDim read as zero), staged a slice at a time. Starts and ends on a barrier's far side: what
    /// was written to <paramref name="left"/> before the call is seen, and the staging area is free again after it.</summary>
    private static QuadBlock AccumulateProduct(QuadBlock acc, Floats left, Floats b, long bStart, int bRows, int headDim, int col0,
        int depth, Floats staging)
    {
        int side = Group.DimX, tile = 4 * side, pitch = tile + 1, tx = Group.IdxX, ty = Group.IdxY, threads = side * side;
        var sb = staging.SubView(0, depth * pitch);
        // Depth rows at or past bRows contribute nothing, so the walk stops at the last slice that holds one.
        for (int p0 = 0; p0 < tile && p0 < bRows; p0 += depth)
        {
            // Consecutive threads read consecutive columns of a row.
            for (int e = ty * side + tx; e < depth * tile; e += threads)
            {
                int p = e / tile, column = e % tile, col = col0 + column;
                sb[p * pitch + column] = p0 + p < bRows && col < headDim ? b[bStart + (long)(p0 + p) * headDim + col] : 0f;
            }
            Group.Barrier();
            for (int p = 0; p < depth; p++)
                acc = acc.AddOuter(Spaced(left, ty * pitch + p0 + p, side * pitch), Spaced(sb, p * pitch + tx, side));
            Group.Barrier();
        }
        return acc;
    }

    /// <summary>Writes factor x each row of the thread's block to rows below <paramref name="rows"/> and columns below
    /// headDim of the tile at <paramref name="start"/> (row-major, headDim wide).</summary>
    private static void WriteBlock(QuadBlock acc, Quad rowFactors, Floats target, long start, int rows, int headDim, int col0)
    {
        int side = Group.DimX, row = Group.IdxY, col = col0 + Group.IdxX;
        WriteRow(acc.R0.Times(rowFactors.X0), target, start, row, rows, headDim, col, side);
        WriteRow(acc.R1.Times(rowFactors.X1), target, start, row + side, rows, headDim, col, side);
        WriteRow(acc.R2.Times(rowFactors.X2), target, start, row + 2 * side, rows, headDim, col, side);
        WriteRow(acc.R3.Times(rowFactors.X3), target, start, row + 3 * side, rows, headDim, col, side);
    }

    private static void WriteRow(Quad values, Floats target, long start, int row, int rows, int headDim, int col, int side)
    {
        if (row >= rows) return;
        long at = start + (long)row * headDim;
        if (col < headDim) target[at + col] = values.X0;
        if (col + side < headDim) target[at + col + side] = values.X1;
        if (col + 2 * side < headDim) target[at + col + 2 * side] = values.X2;
        if (col + 3 * side < headDim) target[at + col + 3 * side] = values.X3;
    }
}
