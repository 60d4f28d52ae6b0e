using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

// Gemm goes to cuBLAS when the backend holds it (CUDA), else to the register-blocked kernel below (OpenCL, the CPU
// emulator, CUDA without a loadable cuBLAS).
//
// The kernel: a group of side x side threads computes a tile x tile block of C, tile = 8 side. Each thread
// keeps an 8 x 8 block of accumulators in registers: rows ty + r side and columns tx + q side, so neighbouring threads
// read neighbouring shared-memory words and write neighbouring columns of C. K is walked in slices depth = side / 2
// deep; at that depth a slice of op(A) (tile x depth) and one of op(B) (depth x tile) hold 4 side^2 elements each,
// exactly four per thread. The slices are double-buffered: while the group multiplies slice s out of one shared buffer,
// each thread holds its four elements of slice s + 1 of each operand in registers and stores them into the other buffer
// afterwards, so the global loads overlap the arithmetic and one barrier per slice suffices. On a GPU side = 16 (256
// threads, a 128 x 128 tile, 8-deep slices); the CPU emulator allows 16 threads per group, so there side = 4 (a 32 x 32
// tile, 2-deep slices).
public sealed partial class IlgpuBackend
{
    /// <summary>Rows (and columns) of C per thread: tile = BlockPerThread * side.</summary>
    private const int BlockPerThread = 8;
    /// <summary>Shared rows are padded by this many floats: an untransposed A is stored k-fastest, and with 8-deep slices the
    /// pad puts a warp's 32 stores in 32 different banks.</summary>
    private const int BankPad = 4;

    private Action<KernelConfig, Floats, Floats, Floats, GemmArgs> GemmK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, GemmArgs>(GemmKernel);

    internal readonly record struct GemmArgs(int M, int N, int K, int TransA, int TransB, float Alpha, float Beta,
        long StrideA, long StrideB, long StrideC);

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DeviceBuffer<float> a, long strideA, DeviceBuffer<float> b, long strideB,
        float beta, DeviceBuffer<float> c, long strideC, int batch)
    {
        if (m == 0 || n == 0 || batch == 0) return;
        if (_cuBlas is not null)
        {
            _cuBlas.Gemm(transA, transB, m, n, k, alpha, V(a), strideA, V(b), strideB, beta, V(c), strideC, batch);
            return;
        }
        var tile = new GemmTile(_gemmSide);
        var config = new KernelConfig(new Index3D((n + tile.Size - 1) / tile.Size, (m + tile.Size - 1) / tile.Size, batch),
            new Index3D(tile.Side, tile.Side, 1), SharedMemoryConfig.RequestDynamic<float>(4 * tile.SliceFloats));
        GemmK(config, V(a), V(b), V(c),
            new GemmArgs(m, n, k, transA ? 1 : 0, transB ? 1 : 0, alpha, beta, strideA, strideB, strideC));
    }

    /// <summary>The geometry every thread of a group derives from the group's side.</summary>
    internal readonly struct GemmTile(int side)
    {
        public readonly int Side = side, Threads = side * side, Size = BlockPerThread * side, Depth = side / 2;
        public int Pitch => Size + BankPad;
        /// <summary>Floats of one operand's slice in shared memory; a buffer holds an A slice then a B slice.</summary>
        public int SliceFloats => Depth * Pitch;
    }

    /// <summary>Where an operand's tile lies: <see cref="AlongK"/> when its k index runs along memory (untransposed A,
    /// transposed B), <see cref="Outer"/> its other dimension (m for A, n for B) and <see cref="Outer0"/> the tile's first
    /// index in it. One loader for both operands and both layouts is how every transpose combination is handled.</summary>
    internal readonly struct OperandTile(long offset, bool alongK, int outer, int k, int outer0)
    {
        public readonly long Offset = offset;
        public readonly bool AlongK = alongK;
        public readonly int Outer = outer, K = k, Outer0 = outer0;
    }

    /// <summary>Element e of a slice: its index in the outer dimension and in the slice's depth. Consecutive elements run
    /// along memory, so consecutive threads read consecutive addresses.</summary>
    internal readonly struct SliceSpot(OperandTile operand, GemmTile tile, int e)
    {
        public readonly int Outer = operand.AlongK ? e / tile.Depth : e % tile.Size;
        public readonly int Depth = operand.AlongK ? e % tile.Depth : e / tile.Size;
    }

    /// <summary>The four slice elements one thread stages in registers.</summary>
    internal readonly struct Staged(float e0, float e1, float e2, float e3)
    {
        public readonly float E0 = e0, E1 = e1, E2 = e2, E3 = e3;
    }

    /// <summary>Eight accumulators of one row of a thread's 8 x 8 block.</summary>
    internal readonly struct Row8(float c0, float c1, float c2, float c3, float c4, float c5, float c6, float c7)
    {
        public readonly float C0 = c0, C1 = c1, C2 = c2, C3 = c3, C4 = c4, C5 = c5, C6 = c6, C7 = c7;

        public Row8 Fma(float a, Row8 b) => new(C0 + a * b.C0, C1 + a * b.C1, C2 + a * b.C2, C3 + a * b.C3,
            C4 + a * b.C4, C5 + a * b.C5, C6 + a * b.C6, C7 + a * b.C7);

        /// <summary>Eight values <paramref name="step"/> apart, starting at <paramref name="start"/>.</summary>
        public static Row8 Read(Floats x, int start, int step) => new(x[start], x[start + step], x[start + 2 * step],
            x[start + 3 * step], x[start + 4 * step], x[start + 5 * step], x[start + 6 * step], x[start + 7 * step]);
    }

    private static void GemmKernel(Floats a, Floats b, Floats c, GemmArgs g)
    {
        var tile = new GemmTile(Group.DimX);
        int tx = Group.IdxX, ty = Group.IdxY, thread = ty * tile.Side + tx, side = tile.Side;
        int row0 = Grid.IdxY * tile.Size, col0 = Grid.IdxX * tile.Size;
        // op(A) is m x k and op(B) k x n.
        var opA = new OperandTile(Grid.IdxZ * g.StrideA, g.TransA == 0, g.M, g.K, row0);
        var opB = new OperandTile(Grid.IdxZ * g.StrideB, g.TransB != 0, g.N, g.K, col0);
        var shared = SharedMemory.GetDynamic<float>();
        int slice = tile.SliceFloats, buffer = 2 * slice;

        Put(shared, 0, opA, tile, thread, Fetch(a, opA, tile, thread, 0));
        Put(shared, slice, opB, tile, thread, Fetch(b, opB, tile, thread, 0));
        Group.Barrier();

        var zero = new Row8(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
        Row8 acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero, acc4 = zero, acc5 = zero, acc6 = zero, acc7 = zero;
        int slices = (g.K + tile.Depth - 1) / tile.Depth;
        for (int s = 0; s < slices; s++)
        {
            int current = (s & 1) * buffer, next = buffer - current;
            bool more = s + 1 < slices;
            // Issue the next slice's global loads before the arithmetic, so their latency hides behind it.
            var nextA = more ? Fetch(a, opA, tile, thread, (s + 1) * tile.Depth) : default;
            var nextB = more ? Fetch(b, opB, tile, thread, (s + 1) * tile.Depth) : default;
            for (int p = 0; p < tile.Depth; p++)
            {
                int ao = current + p * tile.Pitch + ty, bo = current + slice + p * tile.Pitch + tx;
                var bv = Row8.Read(shared, bo, side);
                acc0 = acc0.Fma(shared[ao], bv);
                acc1 = acc1.Fma(shared[ao + side], bv);
                acc2 = acc2.Fma(shared[ao + 2 * side], bv);
                acc3 = acc3.Fma(shared[ao + 3 * side], bv);
                acc4 = acc4.Fma(shared[ao + 4 * side], bv);
                acc5 = acc5.Fma(shared[ao + 5 * side], bv);
                acc6 = acc6.Fma(shared[ao + 6 * side], bv);
                acc7 = acc7.Fma(shared[ao + 7 * side], bv);
            }
            // The other buffer was last read in the previous slice, which every thread finished before the last barrier.
            if (more)
            {
                Put(shared, next, opA, tile, thread, nextA);
                Put(shared, next + slice, opB, tile, thread, nextB);
            }
            Group.Barrier();
        }

        int col = col0 + tx;
        StoreRow(c, g, row0 + ty, col, side, acc0);
        StoreRow(c, g, row0 + ty + side, col, side, acc1);
        StoreRow(c, g, row0 + ty + 2 * side, col, side, acc2);
        StoreRow(c, g, row0 + ty + 3 * side, col, side, acc3);
        StoreRow(c, g, row0 + ty + 4 * side, col, side, acc4);
        StoreRow(c, g, row0 + ty + 5 * side, col, side, acc5);
        StoreRow(c, g, row0 + ty + 6 * side, col, side, acc6);
        StoreRow(c, g, row0 + ty + 7 * side, col, side, acc7);
    }

    /// <summary>This thread's four elements of the slice starting at depth <paramref name="p0"/>; zero past the matrix.</summary>
    private static Staged Fetch(Floats x, OperandTile operand, GemmTile tile, int thread, int p0) => new(
        Load(x, operand, tile, thread, p0), Load(x, operand, tile, thread + tile.Threads, p0),
        Load(x, operand, tile, thread + 2 * tile.Threads, p0), Load(x, operand, tile, thread + 3 * tile.Threads, p0));

    private static float Load(Floats x, OperandTile operand, GemmTile tile, int e, int p0)
    {
        var spot = new SliceSpot(operand, tile, e);
        int outer = operand.Outer0 + spot.Outer, p = p0 + spot.Depth;
        if (outer >= operand.Outer || p >= operand.K) return 0f;
        return x[operand.Offset + (operand.AlongK ? (long)outer * operand.K + p : (long)p * operand.Outer + outer)];
    }

    /// <summary>Stores staged elements depth-major (row p of the slice holds its tile-wide row), whatever the operand's
    /// layout in memory, so the arithmetic reads both operands the same way.</summary>
    private static void Put(Floats shared, int start, OperandTile operand, GemmTile tile, int thread, Staged staged)
    {
        Store(shared, start, operand, tile, thread, staged.E0);
        Store(shared, start, operand, tile, thread + tile.Threads, staged.E1);
        Store(shared, start, operand, tile, thread + 2 * tile.Threads, staged.E2);
        Store(shared, start, operand, tile, thread + 3 * tile.Threads, staged.E3);
    }

    private static void Store(Floats shared, int start, OperandTile operand, GemmTile tile, int e, float value)
    {
        var spot = new SliceSpot(operand, tile, e);
        shared[start + spot.Depth * tile.Pitch + spot.Outer] = value;
    }

    private static void StoreRow(Floats c, GemmArgs g, int row, int col, int side, Row8 acc)
    {
        if (row >= g.M) return;
        long start = Grid.IdxZ * g.StrideC + (long)row * g.N;
        StoreC(c, g, start, col, acc.C0);
        StoreC(c, g, start, col + side, acc.C1);
        StoreC(c, g, start, col + 2 * side, acc.C2);
        StoreC(c, g, start, col + 3 * side, acc.C3);
        StoreC(c, g, start, col + 4 * side, acc.C4);
        StoreC(c, g, start, col + 5 * side, acc.C5);
        StoreC(c, g, start, col + 6 * side, acc.C6);
        StoreC(c, g, start, col + 7 * side, acc.C7);
    }

    /// <summary>beta == 0 never reads C, so whatever C held (NaN included) is overwritten.</summary>
    private static void StoreC(Floats c, GemmArgs g, long rowStart, int col, float acc)
    {
        if (col >= g.N) return;
        long i = rowStart + col;
        c[i] = g.Beta == 0f ? g.Alpha * acc : g.Alpha * acc + g.Beta * c[i];
    }
}
