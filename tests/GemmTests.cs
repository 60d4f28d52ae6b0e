using System.Runtime.InteropServices;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Tests;

public sealed unsafe class GemmTests
{
    private static readonly int[] Sizes = [1, 3, 17, 63, 65, 129];

    // (alpha, beta) pairs cycled through the shape sweep; beta == 0 cases get a NaN-filled C.
    private static readonly (float Alpha, float Beta)[] Scalars = [(1f, 0f), (0.75f, -1.5f), (-1.25f, 0f), (1f, 1f), (2f, 0.5f)];

    /// <summary>A row-major matrix in native memory with a padded leading dimension; the padding holds a sentinel.</summary>
    private sealed class Mat : IDisposable
    {
        public const float Sentinel = 12345.5f;
        public readonly int Rows, Cols, Ld;
        public readonly float* P;

        public Mat(int rows, int cols, int pad, Random rng, bool nan = false)
        {
            Rows = rows; Cols = cols; Ld = cols + pad;
            long len = Math.Max(1L, (long)rows * Ld);
            P = (float*)NativeMemory.Alloc((nuint)len, sizeof(float));
            for (long i = 0; i < len; i++)
                P[i] = i % Ld >= cols ? Sentinel : nan ? float.NaN : (float)(rng.NextDouble() * 2 - 1);
        }

        public float this[int r, int c] => P[(long)r * Ld + c];

        public float[] Snapshot() => new Span<float>(P, Math.Max(1, Rows * Ld)).ToArray();

        public void Dispose() => NativeMemory.Free(P);
    }

    /// <summary>
    /// Reference C = alpha*op(A)*op(B) + beta*C0 in double, plus the magnitude each entry's rounding error scales with.
    /// op(B) is first copied column-wise so the inner loop is a contiguous dot product.
    /// </summary>
    private static (double[] Ref, double[] Mag) Reference(bool tA, bool tB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c0, int ldc)
    {
        var bt = new double[(long)n * k];
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) bt[(long)j * k + p] = tB ? b[(long)j * ldb + p] : b[(long)p * ldb + j];
        var row = new double[k];
        var r = new double[m * n];
        var mag = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++) row[p] = tA ? a[(long)p * lda + i] : a[(long)i * lda + p];
            for (int j = 0; j < n; j++)
            {
                double s = 0, abs = 0;
                var col = new ReadOnlySpan<double>(bt, j * k, k);
                for (int p = 0; p < col.Length; p++)
                {
                    double x = row[p] * col[p];
                    s += x; abs += Math.Abs(x);
                }
                double cOld = beta == 0f ? 0 : beta * (double)c0[(long)i * ldc + j];
                r[i * n + j] = alpha * s + cOld;
                mag[i * n + j] = Math.Abs(alpha) * abs + Math.Abs(cOld);
            }
        }
        return (r, mag);
    }

    private static void AssertClose(double[] expected, double[] mag, Mat c, int k, float[] before, string what)
    {
        double tol = 1e-5 * Math.Sqrt(k + 1);
        for (int i = 0; i < c.Rows; i++)
        {
            for (int j = 0; j < c.Cols; j++)
            {
                double e = expected[i * c.Cols + j], got = c[i, j];
                if (!(Math.Abs(got - e) <= tol * mag[i * c.Cols + j] + 1e-6))
                    Assert.Fail($"{what}: C[{i},{j}] = {got}, expected {e}");
            }
            for (int j = c.Cols; j < c.Ld; j++)
                Assert.True(c[i, j] == before[i * c.Ld + j], $"{what}: padding C[{i},{j}] was overwritten");
        }
    }

    /// <summary>Runs one GEMM through the given kernel and checks it against the double-precision reference.</summary>
    private static void Check(CpuGemm.Isa? isa, bool tA, bool tB, int m, int n, int k, float alpha, float beta, int pad, Random rng)
    {
        using var a = tA ? new Mat(k, m, pad, rng) : new Mat(m, k, pad, rng);
        using var b = tB ? new Mat(n, k, pad, rng) : new Mat(k, n, pad, rng);
        using var c = new Mat(m, n, pad, rng, nan: beta == 0f);
        float[] before = c.Snapshot();
        var (expected, mag) = Reference(tA, tB, m, n, k, alpha, a.P, a.Ld, b.P, b.Ld, beta, c.P, c.Ld);
        if (isa is { } forced)
            CpuGemm.GemmBatched(forced, tA, tB, m, n, k, alpha, a.P, a.Ld, 0, b.P, b.Ld, 0, beta, c.P, c.Ld, 0, 1);
        else
            CpuGemm.Gemm(tA, tB, m, n, k, alpha, a.P, a.Ld, b.P, b.Ld, beta, c.P, c.Ld);
        AssertClose(expected, mag, c, k, before, $"{isa?.ToString() ?? "default"} tA={tA} tB={tB} {m}x{n}x{k} alpha={alpha} beta={beta} pad={pad}");
    }

    public static TheoryData<bool, bool> Transposes => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    [Theory]
    [MemberData(nameof(Transposes))]
    public void AllShapes_MatchReference(bool tA, bool tB)
    {
        var rng = new Random(1234);
        int index = 0;
        foreach (int m in Sizes)
            foreach (int n in Sizes)
                foreach (int k in Sizes)
                {
                    var (alpha, beta) = Scalars[index % Scalars.Length];
                    Check(null, tA, tB, m, n, k, alpha, beta, pad: index % 3 == 0 ? 0 : index % 7, rng);
                    index++;
                }
    }

    public static TheoryData<int, bool, bool> KernelsAndTransposes
    {
        get
        {
            var data = new TheoryData<int, bool, bool>();
            foreach (var isa in Enum.GetValues<CpuGemm.Isa>())
                foreach (var (tA, tB) in new[] { (false, false), (false, true), (true, false), (true, true) })
                    data.Add((int)isa, tA, tB);
            return data;
        }
    }

    // Every kernel, whether or not this machine would pick it (Vector512 runs in software where not accelerated),
    // over a Latin-square subset of shapes that puts each size in each of m, n and k.
    [Theory]
    [MemberData(nameof(KernelsAndTransposes))]
    public void EachKernel_MatchesReference(int isa, bool tA, bool tB)
    {
        var rng = new Random(99);
        for (int s = 0; s < Sizes.Length; s++)
            for (int shift = 1; shift <= 2; shift++)
            {
                int m = Sizes[s], n = Sizes[(s + shift) % Sizes.Length], k = Sizes[(s + 2 * shift) % Sizes.Length];
                var (alpha, beta) = Scalars[(s + shift) % Scalars.Length];
                Check((CpuGemm.Isa)isa, tA, tB, m, n, k, alpha, beta, pad: s % 2 * 5, rng);
            }
        // K spanning several KC slices with beta != 0, so later slices must accumulate rather than overwrite.
        Check((CpuGemm.Isa)isa, tA, tB, 29, 45, 2 * CpuGemm.KC + 7, 0.5f, -0.75f, pad: 3, rng);
    }

    // Spans several K slices and N blocks and is large enough to take the parallel path.
    [Theory]
    [MemberData(nameof(Transposes))]
    public void LargeMultiBlock_MatchesReference(bool tA, bool tB)
        => Check(null, tA, tB, 300, 257, 513, 1.5f, -0.5f, pad: 11, new Random(7));

    // Tall enough that each thread's rows span several packed row blocks (MC), with several K slices and beta != 0.
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void ManyRowBlocks_MatchReference(bool tA, bool tB)
        => Check(null, tA, tB, 2 * CpuGemm.MC + 43, 37, CpuGemm.KC + 9, 1f, 0.5f, pad: 1, new Random(12));

    // The bias goes into the product's store, rounded as an add after the product: bitwise the same as the GEMM followed
    // by a separate add, on every path (one to four rows, edge tiles, several K-slices, rows or columns split over
    // threads, k = 0, alpha = 0).
    [Theory]
    [InlineData(3, 50, 7, 1f, 0f)]
    [InlineData(29, 45, 2 * CpuGemm.KC + 7, 0.5f, -0.75f)]
    [InlineData(300, 70, 40, 1f, 0f)]
    [InlineData(20, 1313, 300, 1f, 0f)]
    [InlineData(13, 40, 0, 1f, 0.5f)]
    [InlineData(13, 40, 9, 0f, 0f)]
    public void GemmBias_EqualsTheGemmThenTheAdd(int m, int n, int k, float alpha, float beta)
    {
        var rng = new Random(m + n + k);
        using var a = new Mat(m, Math.Max(k, 1), 0, rng); // k = 0 still needs a valid pointer
        using var b = new Mat(n, Math.Max(k, 1), 0, rng);
        using var c0 = new Mat(m, n, 0, rng);
        float[] bias = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 4 - 2).ToArray();
        float[] fused = c0.Snapshot(), separate = c0.Snapshot();
        fixed (float* pf = fused, ps = separate, pbias = bias)
        {
            CpuGemm.GemmBias(false, true, m, n, k, alpha, a.P, a.Ld, b.P, b.Ld, beta, pf, n, pbias);
            CpuGemm.Gemm(false, true, m, n, k, alpha, a.P, a.Ld, b.P, b.Ld, beta, ps, n);
        }
        for (int i = 0; i < m * n; i++) separate[i] += bias[i % n];
        Assert.Equal(separate, fused);
    }

    [Fact]
    public void WideAndTall_MatchReference()
    {
        var rng = new Random(8);
        Check(null, false, false, 5, CpuGemm.NC * 2 + 33, 300, 1f, 0f, pad: 0, rng); // few rows: columns are split instead
        Check(null, true, true, 700, 7, 300, 1f, 0f, pad: 2, rng);
    }

    // One to four rows take the streaming path (CpuGemv); these are big enough for it to split columns over threads,
    // with odd n and k for the leftover columns and the scalar tail of each dot product.
    [Theory]
    [MemberData(nameof(Transposes))]
    public void FewRows_MatchReference(bool tA, bool tB)
    {
        var rng = new Random(11);
        for (int m = 1; m <= 4; m++) Check(null, tA, tB, m, 517, 515, 0.75f, m % 2 == 0 ? 0f : -1.5f, pad: m, rng);
    }

    // Packed blocks live in per-thread workspaces, and a parallel call runs its parts on pool threads, so calls made
    // from several threads at once (each big enough to go parallel itself) must not disturb one another.
    [Fact]
    public void ConcurrentCallers_MatchReference()
        => Parallel.For(0, 4, t => Check(null, t % 2 == 1, t >= 2, 150 + t, 200, 300, 1f, 0.5f, pad: t, new Random(t)));

    [Fact]
    public void BetaZero_DoesNotLeakNaN_AndAlphaOrKZero_OnlyScalesC()
    {
        var rng = new Random(3);
        using var a = new Mat(4, 5, 0, rng);
        using var b = new Mat(5, 6, 0, rng);
        a.P[0] = float.NaN; // alpha == 0 must not read A either

        using var c = new Mat(4, 6, 0, rng, nan: true);
        CpuGemm.Gemm(false, false, 4, 6, 5, 0f, a.P, 5, b.P, 6, 0f, c.P, 6);
        for (int i = 0; i < 24; i++) Assert.Equal(0f, c.P[i]);

        using var c2 = new Mat(4, 6, 0, rng);
        float[] before = c2.Snapshot();
        CpuGemm.Gemm(false, false, 4, 6, 0, 1f, a.P, 5, b.P, 6, -2f, c2.P, 6);
        for (int i = 0; i < 24; i++) Assert.Equal(-2f * before[i], c2.P[i]);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Batched_WithStridesAndSharedOperands_MatchesReference(bool tA, bool tB)
    {
        var rng = new Random(5);
        foreach (var (m, n, k, batch, shareA, shareB) in new[] { (17, 33, 65, 7, false, true), (63, 20, 9, 5, true, false), (96, 128, 130, 3, false, false), (256, 256, 256, 2, false, false) })
        {
            const int pad = 2;
            int aRows = tA ? k : m, aCols = tA ? m : k, bRows = tB ? n : k, bCols = tB ? k : n;
            // Strides leave a gap between matrices so that an off-by-one batch offset cannot go unnoticed.
            long sa = shareA ? 0 : aRows * (aCols + pad) + 5, sb = shareB ? 0 : bRows * (bCols + pad) + 3, sc = m * (n + pad) + 1;
            var aAll = Fill(sa * (batch - 1) + aRows * (aCols + pad), rng);
            var bAll = Fill(sb * (batch - 1) + bRows * (bCols + pad), rng);
            var cAll = Fill(sc * (batch - 1) + m * (n + pad), rng);
            float[] c0 = (float[])cAll.Clone();
            fixed (float* pa = aAll, pb = bAll, pc = cAll)
                CpuGemm.GemmBatched(tA, tB, m, n, k, 0.5f, pa, aCols + pad, sa, pb, bCols + pad, sb, 1.25f, pc, n + pad, sc, batch);
            for (int t = 0; t < batch; t++)
            {
                double[] expected, mag;
                fixed (float* pa = aAll, pb = bAll, p0 = c0)
                    (expected, mag) = Reference(tA, tB, m, n, k, 0.5f, pa + sa * t, aCols + pad, pb + sb * t, bCols + pad, 1.25f, p0 + sc * t, n + pad);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        float got = cAll[sc * t + i * (n + pad) + j];
                        double e = expected[i * n + j];
                        Assert.True(Math.Abs(got - e) <= 1e-5 * Math.Sqrt(k + 1) * mag[i * n + j] + 1e-6,
                            $"batch {t} of {m}x{n}x{k}: C[{i},{j}] = {got}, expected {e}");
                    }
            }
        }
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Gemm(false, false, -1, 2, 2, 1f, null, 2, null, 2, 0f, null, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Gemm(false, false, 2, 2, 3, 1f, null, 2, null, 2, 0f, null, 2)); // lda < k
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Gemm(false, true, 2, 4, 3, 1f, null, 3, null, 2, 0f, null, 4)); // ldb < k
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuGemm.Gemm(false, false, 2, 4, 3, 1f, null, 3, null, 4, 0f, null, 3)); // ldc < n
    }

    private static float[] Fill(long length, Random rng)
    {
        var x = new float[length];
        for (long i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
