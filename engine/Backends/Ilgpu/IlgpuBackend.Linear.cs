using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

// Tiled GEMM: a group of side x side threads computes a (4 side) x (4 side) tile of C, each thread a 4 x 4 block held in
// registers, staging `side`-deep slices of op(A) and op(B) through shared memory. On a GPU side = 16 (a 64 x 64 tile,
// 256 threads); the CPU emulator allows 16 threads per group, so there side = 4.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, GemmArgs> GemmK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, GemmArgs>(GemmKernel);

    internal readonly record struct GemmArgs(int M, int N, int K, int TransA, int TransB, float Alpha, float Beta,
        long StrideA, long StrideB, long StrideC);

    /// <summary>Four accumulators of one row of a thread's 4 x 4 block.</summary>
    internal readonly struct Row4(float c0, float c1, float c2, float c3)
    {
        public readonly float C0 = c0, C1 = c1, C2 = c2, C3 = c3;
        public Row4 Fma(float a, Row4 b) => new(C0 + a * b.C0, C1 + a * b.C1, C2 + a * b.C2, C3 + a * b.C3);
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DeviceBuffer<float> a, long strideA, DeviceBuffer<float> b, long strideB,
        float beta, DeviceBuffer<float> c, long strideC, int batch)
    {
        if (m == 0 || n == 0 || batch == 0) return;
        int side = _gemmSide, tile = 4 * side;
        var config = new KernelConfig(new Index3D((n + tile - 1) / tile, (m + tile - 1) / tile, batch), new Index3D(side, side, 1),
            SharedMemoryConfig.RequestDynamic<float>(2 * side * (tile + 1)));
        GemmK(config, V(a), V(b), V(c),
            new GemmArgs(m, n, k, transA ? 1 : 0, transB ? 1 : 0, alpha, beta, strideA, strideB, strideC));
    }

    private static void GemmKernel(Floats a, Floats b, Floats c, GemmArgs g)
    {
        int side = Group.DimX, tile = 4 * side, pitch = tile + 1; // the pad spreads tile stores over banks
        var shared = SharedMemory.GetDynamic<float>();
        var sa = shared.SubView(0, side * pitch);
        var sb = shared.SubView(side * pitch, side * pitch);
        int tx = Group.IdxX, ty = Group.IdxY, row0 = Grid.IdxY * tile, col0 = Grid.IdxX * tile;
        long offA = Grid.IdxZ * g.StrideA, offB = Grid.IdxZ * g.StrideB, offC = Grid.IdxZ * g.StrideC;
        var acc0 = new Row4(0f, 0f, 0f, 0f);
        Row4 acc1 = acc0, acc2 = acc0, acc3 = acc0;

        for (int p0 = 0; p0 < g.K; p0 += side)
        {
            // Consecutive threads load along each operand's contiguous dimension, so global reads coalesce.
            for (int e = ty * side + tx; e < side * tile; e += side * side)
            {
                int i = g.TransA != 0 ? e % tile : e / side, p = g.TransA != 0 ? e / tile : e % side;
                int gi = row0 + i, gp = p0 + p;
                sa[p * pitch + i] = gi < g.M && gp < g.K
                    ? a[offA + (g.TransA != 0 ? (long)gp * g.M + gi : (long)gi * g.K + gp)] : 0f;
                int j = g.TransB != 0 ? e / side : e % tile;
                p = g.TransB != 0 ? e % side : e / tile;
                int gj = col0 + j;
                gp = p0 + p;
                sb[p * pitch + j] = gj < g.N && gp < g.K
                    ? b[offB + (g.TransB != 0 ? (long)gj * g.K + gp : (long)gp * g.N + gj)] : 0f;
            }
            Group.Barrier();
            for (int p = 0; p < side; p++)
            {
                int ao = p * pitch + ty, bo = p * pitch + tx;
                var bv = new Row4(sb[bo], sb[bo + side], sb[bo + 2 * side], sb[bo + 3 * side]);
                acc0 = acc0.Fma(sa[ao], bv);
                acc1 = acc1.Fma(sa[ao + side], bv);
                acc2 = acc2.Fma(sa[ao + 2 * side], bv);
                acc3 = acc3.Fma(sa[ao + 3 * side], bv);
            }
            Group.Barrier();
        }
        // Thread (tx, ty) owns rows ty + r side and columns tx + q side of the tile: neighbours write neighbouring columns.
        StoreRow(c, g, offC, row0 + ty, col0 + tx, side, acc0);
        StoreRow(c, g, offC, row0 + ty + side, col0 + tx, side, acc1);
        StoreRow(c, g, offC, row0 + ty + 2 * side, col0 + tx, side, acc2);
        StoreRow(c, g, offC, row0 + ty + 3 * side, col0 + tx, side, acc3);
    }

    private static void StoreRow(Floats c, GemmArgs g, long offC, int row, int col, int side, Row4 acc)
    {
        if (row >= g.M) return;
        long start = offC + (long)row * g.N;
        Store(c, g, start, col, acc.C0);
        Store(c, g, start, col + side, acc.C1);
        Store(c, g, start, col + 2 * side, acc.C2);
        Store(c, g, start, col + 3 * side, acc.C3);
    }

    /// <summary>beta == 0 never reads C, so whatever C held (NaN included) is overwritten.</summary>
    private static void Store(Floats c, GemmArgs g, long rowStart, int col, float acc)
    {
        if (col >= g.N) return;
        long i = rowStart + col;
        c[i] = g.Beta == 0f ? g.Alpha * acc : g.Alpha * acc + g.Beta * c[i];
    }
}
