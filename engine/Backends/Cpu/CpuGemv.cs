using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>
/// GEMM with at most <see cref="MaxRows"/> rows in op(A), as in one-token generation through a key/value cache.
/// There is nothing to reuse across rows, so packing B into panels (what the blocked GEMM does) costs more than the
/// product: instead op(B) is streamed once, straight from where it lies, against every row of op(A) at a time, and
/// the product runs at the speed memory delivers the weight. Written on <see cref="Vector{T}"/>, so one path serves
/// AVX2, AVX-512 and Arm.
/// </summary>
internal static unsafe class CpuGemv
{
    public const int MaxRows = 4;

    // Below this many elements of op(B) (1 MiB) streaming it takes about as long as waking a second core.
    private const long SerialElements = 1L << 18;

    // Columns of C each thread takes at least, a multiple of both kernels' column groups.
    private const int ColumnGrain = 64;

    /// <summary>C = alpha * op(A) * op(B) + beta * C for m in 1..MaxRows; same contract as <see cref="CpuGemm.Gemm"/>.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc, bool serial)
    {
        // The kernels read op(A) as m contiguous rows of k: a stored k x m A is transposed into scratch first
        // (m * k floats, negligible next to the k * n of B).
        float[]? rented = null;
        if (transA)
        {
            rented = ArrayPool<float>.Shared.Rent(m * k);
            fixed (float* t = rented)
                for (int p = 0; p < k; p++)
                    for (int i = 0; i < m; i++) t[i * k + p] = a[(long)p * lda + i];
        }
        fixed (float* packed = rented)
        {
            var job = new Job
            {
                A = transA ? packed : a, Lda = transA ? k : lda, B = b, Ldb = ldb, C = c, Ldc = ldc,
                K = k, TransB = transB, Alpha = alpha, Beta = beta,
            };
            int groups = (n + ColumnGrain - 1) / ColumnGrain;
            if (serial || (long)n * k < SerialElements) Columns(job, m, 0, n);
            else CpuParallel.For(groups, 1, (s, e) => Columns(job, m, s * ColumnGrain, Math.Min(n, e * ColumnGrain)));
        }
        if (rented != null) ArrayPool<float>.Shared.Return(rented);
    }

    private struct Job
    {
        public float* A, B, C;
        public int Lda, Ldb, Ldc, K;
        public bool TransB;
        public float Alpha, Beta;
    }

    private static void Columns(in Job g, int m, int j0, int j1)
    {
        switch (m)
        {
            case 1: Columns<R1>(g, j0, j1); break;
            case 2: Columns<R2>(g, j0, j1); break;
            case 3: Columns<R3>(g, j0, j1); break;
            default: Columns<R4>(g, j0, j1); break;
        }
    }

    private static void Columns<TR>(in Job g, int j0, int j1) where TR : struct, IRows
    {
        if (g.TransB) Dots<TR>(g, j0, j1);
        else Axpys<TR>(g, j0, j1);
    }

    /// <summary>
    /// B stored n x k: C[i, j] is the dot product of A's row i and B's row j. Four rows of B are read side by side
    /// (four streams keep several cache misses in flight) and each is multiplied into every row of A, whose rows stay
    /// in L1. The four rows of A are spelled out: a helper taking the accumulators by ref measured 35-40% slower at
    /// four rows, its accumulators kept in memory instead of registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots<TR>(in Job g, int j0, int j1) where TR : struct, IRows
    {
        int k = g.K, w = Vector<float>.Count, kv = k - k % w;
        float* a0 = g.A, a1 = a0 + g.Lda, a2 = a1 + g.Lda, a3 = a2 + g.Lda;
        Span<float> dot = stackalloc float[4 * MaxRows]; // [column q * MaxRows + row i]
        int j = j0;
        for (; j + 4 <= j1; j += 4)
        {
            float* b0 = g.B + (long)j * g.Ldb, b1 = b0 + g.Ldb, b2 = b1 + g.Ldb, b3 = b2 + g.Ldb;
            Vector<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
            Vector<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
            for (int p = 0; p < kv; p += w)
            {
                Vector<float> v0 = Vector.Load(b0 + p), v1 = Vector.Load(b1 + p), v2 = Vector.Load(b2 + p), v3 = Vector.Load(b3 + p), x;
                x = Vector.Load(a0 + p);
                s00 = Vector.FusedMultiplyAdd(x, v0, s00); s01 = Vector.FusedMultiplyAdd(x, v1, s01);
                s02 = Vector.FusedMultiplyAdd(x, v2, s02); s03 = Vector.FusedMultiplyAdd(x, v3, s03);
                if (TR.Count > 1)
                {
                    x = Vector.Load(a1 + p);
                    s10 = Vector.FusedMultiplyAdd(x, v0, s10); s11 = Vector.FusedMultiplyAdd(x, v1, s11);
                    s12 = Vector.FusedMultiplyAdd(x, v2, s12); s13 = Vector.FusedMultiplyAdd(x, v3, s13);
                }
                if (TR.Count > 2)
                {
                    x = Vector.Load(a2 + p);
                    s20 = Vector.FusedMultiplyAdd(x, v0, s20); s21 = Vector.FusedMultiplyAdd(x, v1, s21);
                    s22 = Vector.FusedMultiplyAdd(x, v2, s22); s23 = Vector.FusedMultiplyAdd(x, v3, s23);
                }
                if (TR.Count > 3)
                {
                    x = Vector.Load(a3 + p);
                    s30 = Vector.FusedMultiplyAdd(x, v0, s30); s31 = Vector.FusedMultiplyAdd(x, v1, s31);
                    s32 = Vector.FusedMultiplyAdd(x, v2, s32); s33 = Vector.FusedMultiplyAdd(x, v3, s33);
                }
            }
            dot[0] = Vector.Sum(s00); dot[4] = Vector.Sum(s01); dot[8] = Vector.Sum(s02); dot[12] = Vector.Sum(s03);
            if (TR.Count > 1) { dot[1] = Vector.Sum(s10); dot[5] = Vector.Sum(s11); dot[9] = Vector.Sum(s12); dot[13] = Vector.Sum(s13); }
            if (TR.Count > 2) { dot[2] = Vector.Sum(s20); dot[6] = Vector.Sum(s21); dot[10] = Vector.Sum(s22); dot[14] = Vector.Sum(s23); }
            if (TR.Count > 3) { dot[3] = Vector.Sum(s30); dot[7] = Vector.Sum(s31); dot[11] = Vector.Sum(s32); dot[15] = Vector.Sum(s33); }
            for (int q = 0; q < 4; q++)
            {
                float* bq = g.B + (long)(j + q) * g.Ldb;
                for (int i = 0; i < TR.Count; i++)
                {
                    float* ai = g.A + (long)i * g.Lda;
                    float d = dot[q * MaxRows + i];
                    for (int p = kv; p < k; p++) d = MathF.FusedMultiplyAdd(ai[p], bq[p], d);
                    Put(g, i, j + q, d);
                }
            }
        }
        // Leftover columns, one B row at a time.
        for (; j < j1; j++)
        {
            float* bj = g.B + (long)j * g.Ldb;
            for (int i = 0; i < TR.Count; i++)
            {
                float* ai = g.A + (long)i * g.Lda;
                Vector<float> s = default;
                for (int p = 0; p < kv; p += w) s = Vector.FusedMultiplyAdd(Vector.Load(ai + p), Vector.Load(bj + p), s);
                float d = Vector.Sum(s);
                for (int p = kv; p < k; p++) d = MathF.FusedMultiplyAdd(ai[p], bj[p], d);
                Put(g, i, j, d);
            }
        }
    }

    /// <summary>
    /// B stored k x n: row i of C is the sum over p of A[i, p] times B's row p. A strip of two vectors of columns is
    /// accumulated in registers for every row of A while B's rows stream past.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Axpys<TR>(in Job g, int j0, int j1) where TR : struct, IRows
    {
        int k = g.K, w = Vector<float>.Count;
        long ldb = g.Ldb;
        float* a0 = g.A, a1 = a0 + g.Lda, a2 = a1 + g.Lda, a3 = a2 + g.Lda;
        int j = j0;
        for (; j + 2 * w <= j1; j += 2 * w)
        {
            Vector<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
            float* bp = g.B + j;
            for (int p = 0; p < k; p++, bp += ldb)
            {
                Vector<float> v0 = Vector.Load(bp), v1 = Vector.Load(bp + w), x;
                x = new Vector<float>(a0[p]); c00 = Vector.FusedMultiplyAdd(x, v0, c00); c01 = Vector.FusedMultiplyAdd(x, v1, c01);
                if (TR.Count > 1) { x = new Vector<float>(a1[p]); c10 = Vector.FusedMultiplyAdd(x, v0, c10); c11 = Vector.FusedMultiplyAdd(x, v1, c11); }
                if (TR.Count > 2) { x = new Vector<float>(a2[p]); c20 = Vector.FusedMultiplyAdd(x, v0, c20); c21 = Vector.FusedMultiplyAdd(x, v1, c21); }
                if (TR.Count > 3) { x = new Vector<float>(a3[p]); c30 = Vector.FusedMultiplyAdd(x, v0, c30); c31 = Vector.FusedMultiplyAdd(x, v1, c31); }
            }
            PutVector(g, 0, j, c00); PutVector(g, 0, j + w, c01);
            if (TR.Count > 1) { PutVector(g, 1, j, c10); PutVector(g, 1, j + w, c11); }
            if (TR.Count > 2) { PutVector(g, 2, j, c20); PutVector(g, 2, j + w, c21); }
            if (TR.Count > 3) { PutVector(g, 3, j, c30); PutVector(g, 3, j + w, c31); }
        }
        // Leftover columns (fewer than two vectors), one at a time.
        for (; j < j1; j++)
            for (int i = 0; i < TR.Count; i++)
            {
                float* ai = g.A + (long)i * g.Lda;
                float d = 0f;
                for (int p = 0; p < k; p++) d = MathF.FusedMultiplyAdd(ai[p], g.B[p * ldb + j], d);
                Put(g, i, j, d);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(in Job g, int i, int j, float d)
    {
        float* c = g.C + (long)i * g.Ldc + j;
        *c = g.Beta == 0f ? g.Alpha * d : g.Alpha * d + g.Beta * *c; // beta == 0: C is not read, so NaN there cannot leak
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutVector(in Job g, int i, int j, Vector<float> d)
    {
        float* c = g.C + (long)i * g.Ldc + j;
        var r = d * new Vector<float>(g.Alpha);
        (g.Beta == 0f ? r : Vector.FusedMultiplyAdd(Vector.Load(c), new Vector<float>(g.Beta), r)).Store(c);
    }

    private interface IRows { static abstract int Count { get; } }
    private struct R1 : IRows { public static int Count => 1; }
    private struct R2 : IRows { public static int Count => 2; }
    private struct R3 : IRows { public static int Count => 3; }
    private struct R4 : IRows { public static int Count => 4; }
}
