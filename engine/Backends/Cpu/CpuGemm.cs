using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>
/// Row-major fp32 GEMM, Goto/BLIS style. Per K-slice, op(A) is packed a block of rows at a time into MR-row
/// micro-panels; per column block, op(B) is packed once into NR-wide micro-panels (it stays in L2), and each A
/// micro-panel (in L1 while it is used) is swept across it with a register-blocked MR x NR micro-kernel. Threads each
/// take one rectangle of C and run this on their own. One to four rows go to <see cref="CpuGemv"/> instead, which
/// streams op(B) without packing it.
/// </summary>
public static unsafe class CpuGemm
{
    // Deepest K-slice. Long enough to amortise loading/storing each C micro-tile once per slice, short enough that
    // the A micro-panel (at most 12 x 320 floats = 15 KiB) stays in a 32 KiB L1d while B streams past it.
    // K is cut into equal slices no deeper than this, so there is no thin leftover slice.
    internal const int KC = 320;

    // Widest packed B block: KC x NC floats = 800 KiB, meant to sit in a 1 MiB per-core L2 (Zen 4), from where the
    // kernel re-reads it for every A micro-panel. On the 512 KiB-L2 machine the benchmarks ran on it spills to L3,
    // yet still measured a few percent ahead of 256 x 512 at 1024^3 and the GPT shape.
    // A multiple of every kernel's NR.
    internal const int NC = 640;

    // Rows of op(A) packed together per K-slice: MC x KC floats = 1.9 MiB, read back from L3 once per column block.
    // A multiple of every kernel's MR.
    internal const int MC = 1536;

    // Under ~1M multiply-adds (~20 us on one core) waking the thread pool costs about what a second core saves.
    private const long SerialWork = 1L << 20;

    // Batched problems smaller than this are run one per thread instead of splitting each across threads.
    private const long BatchWork = 1L << 24;

    internal enum Isa { Scalar, V256, V512 }

    // The 512-bit kernel runs wherever the CPU has AVX-512F, not only where Vector512.IsHardwareAccelerated says so:
    // .NET reports false on Intel parts that lower their clock for 512-bit work (Skylake-X to Cascade Lake), a hint
    // for code that mixes a few wide instructions into scalar work. A GEMM is nothing but wide FMAs, and there the
    // 512-bit kernel measured about 1.5x the 256-bit one in whole training steps (bench/RESULTS.md).
    internal static Isa Best { get; } =
        Avx512F.IsSupported || Vector512.IsHardwareAccelerated ? Isa.V512 :
        Vector256.IsHardwareAccelerated && Fma.IsSupported ? Isa.V256 : Isa.Scalar;

    /// <summary>Register width of the micro-kernel this machine runs (512, 256, or 32 for the scalar one), for reports.</summary>
    public static int KernelBits => Best switch { Isa.V512 => 512, Isa.V256 => 256, _ => 32 };

    /// <summary>
    /// C[m x n] = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is m x k: when transA, A is stored k x m
    /// (leading dimension lda); op(B) is k x n: when transB, B is stored n x k. beta == 0 overwrites C without reading
    /// it, so NaN already in C does not leak; alpha == 0 or k == 0 only scales C.
    /// </summary>
    public static void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => GemmBatched(Best, transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);

    /// <summary>
    /// <see cref="Gemm"/> for `batch` independent problems; matrix i starts at a + i*strideA etc. A stride of 0 means
    /// the operand is shared by all batches (for C that makes the batches accumulate into it one after another).
    /// </summary>
    public static void GemmBatched(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC, int batch)
        => GemmBatched(Best, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);

    /// <summary>
    /// <see cref="Gemm"/> plus a row vector: C = alpha * op(A) op(B) + beta * C + bias, with bias[n] added to every row
    /// in the same pass that stores the product (a Linear layer's forward), rounded exactly as a separate add after the
    /// product would round.
    /// </summary>
    public static void GemmBias(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, float* bias)
        => GemmBatched(Best, transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1, bias);

    /// <summary>Entry point with an explicit kernel choice, so tests can cover every code path on any machine.</summary>
    internal static void GemmBatched(Isa isa, bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC, int batch, float* bias = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, transA ? m : k);
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, transB ? k : n);
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, n);
        var g = new Job { TransA = transA, TransB = transB, M = m, N = n, K = k, Alpha = alpha, A = a, Lda = lda, B = b, Ldb = ldb, Beta = beta, C = c, Ldc = ldc, Bias = bias };
        switch (isa)
        {
            case Isa.V512: Batched<K512>(g, strideA, strideB, strideC, batch); break;
            case Isa.V256: Batched<K256>(g, strideA, strideB, strideC, batch); break;
            default: Batched<KScalar>(g, strideA, strideB, strideC, batch); break;
        }
    }

    private struct Job
    {
        public float* A, B, C, Bias; // Bias: null, or n floats added to every row of C
        public int M, N, K, Lda, Ldb, Ldc;
        public bool TransA, TransB;
        public float Alpha, Beta;
    }

    /// <summary>One K-slice x row block x column block of a GEMM: op(A)[I0..I1, Pc..) packed at PackedA and
    /// op(B)[Pc.., J0..J1) at PackedB.</summary>
    private struct Step
    {
        public float* PackedA, PackedB, Bias; // Bias: the job's, on the last K-slice only
        public int I0, I1, J0, J1, Pc, Kc;
        // Kc rounded up to even: the packed panels' extra step is zeros, so the kernels step two at a time with no tail.
        public int Depth;
        public float Beta;
    }

    private static void Batched<TK>(Job g, long strideA, long strideB, long strideC, int batch) where TK : struct, IKernel
    {
        if (g.M == 0 || g.N == 0 || batch == 0) return;
        long work = (long)g.M * g.N * g.K;
        // Many small problems parallelise better across the batch than inside each one. A shared C (stride 0) would
        // race, so it keeps the sequential order.
        if (batch > 1 && strideC != 0 && CpuParallel.Workers > 1 && work < BatchWork && work * batch >= SerialWork)
            ParallelBatch<TK>(g, strideA, strideB, strideC, batch);
        else
            for (int i = 0; i < batch; i++, g.A += strideA, g.B += strideB, g.C += strideC) Single<TK>(g, serial: false);
    }

    private static void ParallelBatch<TK>(Job g, long strideA, long strideB, long strideC, int batch) where TK : struct, IKernel
        => Parallel.For(0, batch, new ParallelOptions { MaxDegreeOfParallelism = CpuParallel.Workers }, i =>
        {
            Job gi = g;
            gi.A += i * strideA; gi.B += i * strideB; gi.C += i * strideC;
            Single<TK>(gi, serial: true);
        });

    private static void Single<TK>(Job g, bool serial) where TK : struct, IKernel
    {
        if (g.K == 0 || g.Alpha == 0f) { ScaleC(g); AddBias(g); return; }
        if (g.M <= CpuGemv.MaxRows && typeof(TK) != typeof(KScalar) && Vector.IsHardwareAccelerated)
        {
            CpuGemv.Run(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, g.A, g.Lda, g.B, g.Ldb, g.Beta, g.C, g.Ldc, serial);
            AddBias(g);
            return;
        }
        if (serial || CpuParallel.Workers == 1 || (long)g.M * g.N * g.K < SerialWork) Serial<TK>(g);
        else Partitioned<TK>(g, CpuParallel.Workers);
    }

    /// <summary>
    /// Cuts C into one rectangle of whole micro-panels per thread and runs each as an independent serial GEMM. Each
    /// worker packs its own op(B) block into its own core's L2, so no core reads panels another core packed, and there
    /// is one parallel region per GEMM rather than two barriers per block: 1.01-1.34x faster per shape than threads
    /// sharing one packed block, on the 2-core AVX-512 machine (bench/RESULTS.md).
    /// </summary>
    private static void Partitioned<TK>(Job g, int threads) where TK : struct, IKernel
    {
        // Cut the dimension with more panels: a part's A micro-panel is reused across its columns and its B panels
        // across its rows, so this keeps the smaller of the two reuses as large as possible.
        int rowPanels = Ceil(g.M, TK.MR), columnPanels = Ceil(g.N, TK.NR);
        bool byRows = rowPanels >= columnPanels;
        int panels = byRows ? rowPanels : columnPanels;
        // One part per thread: two or four smaller parts per thread, which would let a core slowed by other work hand
        // some of its share over, measured level or a few percent slower (each part packs its own blocks).
        int parts = Math.Min(panels, threads);
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            int p0 = (int)((long)panels * part / parts), p1 = (int)((long)panels * (part + 1) / parts);
            Job piece = g;
            if (byRows)
            {
                int i0 = p0 * TK.MR;
                piece.M = Math.Min(g.M, p1 * TK.MR) - i0;
                piece.A += g.TransA ? i0 : (long)i0 * g.Lda;
                piece.C += (long)i0 * g.Ldc;
            }
            else
            {
                int j0 = p0 * TK.NR;
                piece.N = Math.Min(g.N, p1 * TK.NR) - j0;
                piece.B += g.TransB ? (long)j0 * g.Ldb : j0;
                piece.C += j0;
                if (g.Bias != null) piece.Bias += j0;
            }
            Serial<TK>(piece);
        });
    }

    /// <summary>
    /// The blocked GEMM on the calling thread. Per K-slice and block of at most MC rows, all of the block's op(A)
    /// micro-panels are packed back to back, reading A's rows while they are still in cache, once for all column blocks;
    /// then per column block, op(B) is packed and every A micro-panel is swept across it.
    /// </summary>
    private static void Serial<TK>(Job g) where TK : struct, IKernel
    {
        int nt = RoundUp(Ceil(g.N, Ceil(g.N, NC)), TK.NR), kcEven = Ceil(g.K, Ceil(g.K, KC)); // no thin leftovers
        Workspace ws = Workspace.Current;
        var s = new Step { PackedA = ws.A, PackedB = ws.B };
        for (s.Pc = 0; s.Pc < g.K; s.Pc += kcEven)
        {
            s.Kc = Math.Min(kcEven, g.K - s.Pc);
            s.Depth = RoundUp(s.Kc, 2);
            s.Beta = s.Pc == 0 ? g.Beta : 1f; // later K-slices accumulate onto the first one's result
            s.Bias = s.Pc + s.Kc >= g.K ? g.Bias : null; // added once, after the whole product, as a separate add would be
            for (s.I0 = 0; s.I0 < g.M; s.I0 += MC)
            {
                s.I1 = Math.Min(g.M, s.I0 + MC);
                for (int i = s.I0; i < s.I1; i += TK.MR)
                    PackA<TK>(g, i, Math.Min(TK.MR, s.I1 - i), s.Pc, s.Kc, s.Depth, s.PackedA + (long)(i - s.I0) * s.Depth);
                for (s.J0 = 0; s.J0 < g.N; s.J0 += nt)
                {
                    s.J1 = Math.Min(g.N, s.J0 + nt);
                    PackB<TK>(g, s);
                    Compute<TK>(g, s, ws.Tile);
                }
            }
        }
    }

    /// <summary>Sweeps each packed A micro-panel of the step's row block across its packed B block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compute<TK>(in Job g, in Step s, float* tile) where TK : struct, IKernel
    {
        for (int i = s.I0; i < s.I1; i += TK.MR)
        {
            int mr = Math.Min(TK.MR, s.I1 - i);
            float* ap = s.PackedA + (long)(i - s.I0) * s.Depth;
            float* cRow = g.C + (long)i * g.Ldc;
            for (int j = s.J0; j < s.J1; j += TK.NR)
            {
                int nr = Math.Min(TK.NR, s.J1 - j);
                float* bp = s.PackedB + (long)(j - s.J0) * s.Depth, bias = s.Bias == null ? null : s.Bias + j;
                if (mr == TK.MR && nr == TK.NR)
                {
                    TK.Run(s.Depth, ap, bp, cRow + j, g.Ldc, g.Alpha, s.Beta, bias);
                }
                else
                {
                    // Edge tile: the kernel always computes a full MR x NR tile (packing zero-padded it), so it
                    // writes to scratch and only the valid part is merged into C.
                    TK.Run(s.Depth, ap, bp, tile, TK.NR, 1f, 0f, null);
                    Merge(tile, TK.NR, cRow + j, g.Ldc, mr, nr, g.Alpha, s.Beta, bias);
                }
            }
        }
    }

    /// <summary>Packs the step's B block as column panels of kc rows of NR contiguous floats, zero-padded to NR wide
    /// and to the step's even depth.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB<TK>(in Job g, in Step s) where TK : struct, IKernel
    {
        int NR = TK.NR, kc = s.Kc, pc = s.Pc, panels = Ceil(s.J1 - s.J0, NR);
        long ldb = g.Ldb;
        for (int t = 0; t < panels; t++)
        {
            int j = s.J0 + t * NR, nr = Math.Min(NR, s.J1 - j);
            float* dst = s.PackedB + (long)t * NR * s.Depth;
            new Span<float>(dst + kc * NR, (s.Depth - kc) * NR).Clear();
            if (!g.TransB)
            {
                float* src = g.B + pc * ldb + j;
                if (nr == NR)
                {
                    for (int p = 0; p < kc; p++) Unsafe.CopyBlockUnaligned(dst + p * NR, src + p * ldb, (uint)(NR * sizeof(float)));
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                        for (int q = 0; q < NR; q++) dst[p * NR + q] = q < nr ? src[p * ldb + q] : 0f;
                }
            }
            else
            {
                // Stored rows of B are columns of op(B); as in PackA, all NR of them are walked together.
                float* src = g.B + j * ldb + pc;
                if (nr == NR)
                {
                    int p = 0;
                    if (Avx.IsSupported)
                        for (; p + 8 <= kc; p += 8)
                            for (int q = 0; q < NR; q += 8) Transpose8(src + q * ldb + p, ldb, 8, dst + p * NR + q, NR);
                    for (; p < kc; p++)
                    {
                        float* col = src + p;
                        for (int q = 0; q < NR; q++, col += ldb) dst[p * NR + q] = *col;
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                        for (int q = 0; q < NR; q++) dst[p * NR + q] = q < nr ? src[q * ldb + p] : 0f;
                }
            }
        }
    }

    /// <summary>Packs op(A)[i..i+mr, pc..pc+kc) as kc columns of MR contiguous floats, zero-padded to MR rows and to
    /// `depth` columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA<TK>(in Job g, int i, int mr, int pc, int kc, int depth, float* dst) where TK : struct, IKernel
    {
        int MR = TK.MR;
        new Span<float>(dst + kc * MR, (depth - kc) * MR).Clear();
        long lda = g.Lda;
        if (g.TransA)
        {
            float* src = g.A + pc * lda + i;
            if (mr == MR)
            {
                for (int p = 0; p < kc; p++) Unsafe.CopyBlockUnaligned(dst + p * MR, src + p * lda, (uint)(MR * sizeof(float)));
            }
            else
            {
                for (int p = 0; p < kc; p++)
                    for (int q = 0; q < MR; q++) dst[p * MR + q] = q < mr ? src[p * lda + q] : 0f;
            }
        }
        else
        {
            // Walk all MR rows together: MR independent read streams keep several cache misses in flight, where
            // finishing one row before starting the next waits on each miss in turn.
            float* src = g.A + i * lda + pc;
            if (mr == MR)
            {
                int p = 0;
                if (Avx.IsSupported)
                {
                    for (; p + 8 <= kc; p += 8)
                    {
                        // Rows 8.. first: their 8-float stores spill into the next column's first slots, which the
                        // store for rows 0..7 then overwrites (Transpose8 writes its columns in ascending order).
                        if (MR > 8) Transpose8(src + 8 * lda + p, lda, MR - 8, dst + p * MR + 8, MR);
                        Transpose8(src + p, lda, Math.Min(MR, 8), dst + p * MR, MR);
                    }
                }
                for (; p < kc; p++)
                {
                    float* s = src + p;
                    for (int q = 0; q < MR; q++, s += lda) dst[p * MR + q] = *s;
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                    for (int q = 0; q < MR; q++) dst[p * MR + q] = q < mr ? src[q * lda + p] : 0f;
            }
        }
    }

    /// <summary>
    /// Transposes the block of `rows` (at most 8) rows x 8 columns at src (row stride ld) into 8 stores of 8 floats,
    /// column j at dst + j * stride, in ascending j. Rows past `rows` read as zero; when stride is below 8, each store
    /// spills zeros into the next column's slots (the last one past the end of the block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float* src, long ld, int rows, float* dst, int stride)
    {
        Vector256<float> r0 = Vector256.Load(src), r1 = rows > 1 ? Vector256.Load(src + ld) : default;
        Vector256<float> r2 = rows > 2 ? Vector256.Load(src + 2 * ld) : default, r3 = rows > 3 ? Vector256.Load(src + 3 * ld) : default;
        Vector256<float> r4 = rows > 4 ? Vector256.Load(src + 4 * ld) : default, r5 = rows > 5 ? Vector256.Load(src + 5 * ld) : default;
        Vector256<float> r6 = rows > 6 ? Vector256.Load(src + 6 * ld) : default, r7 = rows > 7 ? Vector256.Load(src + 7 * ld) : default;
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).Store(dst);
        Avx.Permute2x128(u1, u5, 0x20).Store(dst + stride);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 2 * stride);
        Avx.Permute2x128(u3, u7, 0x20).Store(dst + 3 * stride);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 4 * stride);
        Avx.Permute2x128(u1, u5, 0x31).Store(dst + 5 * stride);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 6 * stride);
        Avx.Permute2x128(u3, u7, 0x31).Store(dst + 7 * stride);
    }

    /// <summary>c = alpha t + beta c (+ bias) over an mr x nr edge tile, rounded as the kernels' own stores round it
    /// (one fused multiply-add, then the bias), so an element's value does not depend on whether its tile was an edge.</summary>
    private static void Merge(float* t, int ldt, float* c, int ldc, int mr, int nr, float alpha, float beta, float* bias)
    {
        var va = new Vector<float>(alpha);
        var vb = new Vector<float>(beta);
        for (int r = 0; r < mr; r++, t += ldt, c += ldc)
        {
            int q = 0;
            for (; q <= nr - Vector<float>.Count; q += Vector<float>.Count)
            {
                var scaled = Vector.Load(t + q) * va;
                var v = beta == 0f ? scaled : Vector.FusedMultiplyAdd(Vector.Load(c + q), vb, scaled);
                (bias == null ? v : v + Vector.Load(bias + q)).Store(c + q);
            }
            for (; q < nr; q++)
            {
                float v = beta == 0f ? alpha * t[q] : MathF.FusedMultiplyAdd(c[q], beta, alpha * t[q]);
                c[q] = bias == null ? v : v + bias[q];
            }
        }
    }

    /// <summary>Adds the job's bias to every row of C, for the paths that do not go through the blocked kernels.</summary>
    private static void AddBias(in Job g)
    {
        if (g.Bias == null) return;
        var bias = new ReadOnlySpan<float>(g.Bias, g.N);
        for (int i = 0; i < g.M; i++)
        {
            var row = new Span<float>(g.C + (long)i * g.Ldc, g.N);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    private static void ScaleC(in Job g)
    {
        if (g.Beta == 1f) return;
        for (int i = 0; i < g.M; i++)
        {
            var row = new Span<float>(g.C + (long)i * g.Ldc, g.N);
            if (g.Beta == 0f) row.Clear(); // BLAS semantics: overwrite, so NaN already in C does not survive
            else for (int j = 0; j < row.Length; j++) row[j] *= g.Beta;
        }
    }

    /// <summary>
    /// Starts fetching the C tile that a kernel will read and write once its K loop is done: its rows are a row
    /// stride apart, so no hardware prefetcher guesses them, and by the end of the loop (thousands of cycles) the
    /// lines have arrived instead of stalling the stores one miss after another. Measured against no prefetch in one
    /// process on the AVX-512 machine: level at most shapes, up to 8% ahead at the 4096-row GPT-2 shapes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile(float* c, int ldc, int rows, int lines)
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < rows; r++, c += ldc)
            for (int l = 0; l < lines; l++) Sse.Prefetch0(c + 16 * l);
    }

    private static int Ceil(int x, int y) => (x + y - 1) / y;
    private static int RoundUp(int x, int y) => Ceil(x, y) * y;

    /// <summary>Per-thread packing buffers: allocated once per thread, 64-byte aligned, freed when the thread dies.</summary>
    private sealed class Workspace
    {
        private const int MaxMR = 12, MaxNR = 32;

        [ThreadStatic] private static Workspace? t_current;

        public static Workspace Current => t_current ??= new Workspace();

        public readonly float* B, A, Tile;

        private Workspace()
        {
            // A gets 16 floats of slack for Transpose8's spill past the end of the last micro-panel.
            B = (float*)NativeMemory.AlignedAlloc((nuint)(KC * NC + MC * KC + 16 + MaxMR * MaxNR) * sizeof(float), 64);
            A = B + KC * NC;
            Tile = A + MC * KC + 16;
        }

        ~Workspace() => NativeMemory.AlignedFree(B);
    }

    /// <summary>
    /// Computes the MR x NR tile sum_p a[p*MR + r] * b[p*NR + q] over kc (even) packed steps and stores
    /// alpha * tile + beta * C (C is not read when beta == 0), plus bias[q] on every row when bias is not null.
    /// </summary>
    // Kernels are NoInlining so that their register allocation never competes with the caller's loop variables.
    private interface IKernel
    {
        static abstract int MR { get; }
        static abstract int NR { get; }
        static abstract void Run(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta, float* bias);
    }

    // 12 x 32: 24 zmm accumulators + 2 B vectors + 1 broadcast = 27 of the 32 AVX-512 registers.
    private struct K512 : IKernel
    {
        public static int MR => 12;
        public static int NR => 32;

        [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
        public static void Run(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta, float* bias)
        {
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
            Vector512<float> c90 = default, c91 = default, cA0 = default, cA1 = default, cB0 = default, cB1 = default;
            PrefetchTile(c, ldc, 12, 2);
            // Two steps per iteration: one step is 24 FMAs against 18 other instructions, and halving the loop's own
            // increments and branch measured 8% faster on the AVX-512 machine. kc is even (packing pads it).
            for (int p = 0; p < kc; p += 2, a += 24, b += 64)
            {
                Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16), x;
                x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
                x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
                x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
                x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
                x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
                x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
                x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
                x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
                x = Vector512.Create(a[8]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81);
                x = Vector512.Create(a[9]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91);
                x = Vector512.Create(a[10]); cA0 = Vector512.FusedMultiplyAdd(x, b0, cA0); cA1 = Vector512.FusedMultiplyAdd(x, b1, cA1);
                x = Vector512.Create(a[11]); cB0 = Vector512.FusedMultiplyAdd(x, b0, cB0); cB1 = Vector512.FusedMultiplyAdd(x, b1, cB1);
                b0 = Vector512.Load(b + 32); b1 = Vector512.Load(b + 48);
                x = Vector512.Create(a[12]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
                x = Vector512.Create(a[13]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
                x = Vector512.Create(a[14]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
                x = Vector512.Create(a[15]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
                x = Vector512.Create(a[16]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
                x = Vector512.Create(a[17]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
                x = Vector512.Create(a[18]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
                x = Vector512.Create(a[19]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
                x = Vector512.Create(a[20]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81);
                x = Vector512.Create(a[21]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91);
                x = Vector512.Create(a[22]); cA0 = Vector512.FusedMultiplyAdd(x, b0, cA0); cA1 = Vector512.FusedMultiplyAdd(x, b1, cA1);
                x = Vector512.Create(a[23]); cB0 = Vector512.FusedMultiplyAdd(x, b0, cB0); cB1 = Vector512.FusedMultiplyAdd(x, b1, cB1);
            }
            Vector512<float> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
            bool load = beta != 0f, add = bias != null;
            Vector512<float> d0 = add ? Vector512.Load(bias) : default, d1 = add ? Vector512.Load(bias + 16) : default;
            Put(c, c00, va, vb, load, add, d0); Put(c + 16, c01, va, vb, load, add, d1); c += ldc;
            Put(c, c10, va, vb, load, add, d0); Put(c + 16, c11, va, vb, load, add, d1); c += ldc;
            Put(c, c20, va, vb, load, add, d0); Put(c + 16, c21, va, vb, load, add, d1); c += ldc;
            Put(c, c30, va, vb, load, add, d0); Put(c + 16, c31, va, vb, load, add, d1); c += ldc;
            Put(c, c40, va, vb, load, add, d0); Put(c + 16, c41, va, vb, load, add, d1); c += ldc;
            Put(c, c50, va, vb, load, add, d0); Put(c + 16, c51, va, vb, load, add, d1); c += ldc;
            Put(c, c60, va, vb, load, add, d0); Put(c + 16, c61, va, vb, load, add, d1); c += ldc;
            Put(c, c70, va, vb, load, add, d0); Put(c + 16, c71, va, vb, load, add, d1); c += ldc;
            Put(c, c80, va, vb, load, add, d0); Put(c + 16, c81, va, vb, load, add, d1); c += ldc;
            Put(c, c90, va, vb, load, add, d0); Put(c + 16, c91, va, vb, load, add, d1); c += ldc;
            Put(c, cA0, va, vb, load, add, d0); Put(c + 16, cA1, va, vb, load, add, d1); c += ldc;
            Put(c, cB0, va, vb, load, add, d0); Put(c + 16, cB1, va, vb, load, add, d1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Put(float* c, Vector512<float> acc, Vector512<float> alpha, Vector512<float> beta, bool load, bool add, Vector512<float> bias)
        {
            var v = load ? Vector512.FusedMultiplyAdd(Vector512.Load(c), beta, acc * alpha) : acc * alpha;
            (add ? v + bias : v).Store(c);
        }
    }

    // 6 x 16: 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of the 16 AVX2 registers.
    private struct K256 : IKernel
    {
        public static int MR => 6;
        public static int NR => 16;

        [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
        public static void Run(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta, float* bias)
        {
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            PrefetchTile(c, ldc, 6, 1);
            // Two steps per iteration, as in the 512-bit kernel. kc is even (packing pads it).
            for (int p = 0; p < kc; p += 2, a += 12, b += 32)
            {
                Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8), x;
                x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
                x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
                x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
                x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
                x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
                x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
                b0 = Vector256.Load(b + 16); b1 = Vector256.Load(b + 24);
                x = Vector256.Create(a[6]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
                x = Vector256.Create(a[7]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
                x = Vector256.Create(a[8]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
                x = Vector256.Create(a[9]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
                x = Vector256.Create(a[10]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
                x = Vector256.Create(a[11]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            }
            Vector256<float> va = Vector256.Create(alpha), vb = Vector256.Create(beta);
            bool load = beta != 0f, add = bias != null;
            Vector256<float> d0 = add ? Vector256.Load(bias) : default, d1 = add ? Vector256.Load(bias + 8) : default;
            Put(c, c00, va, vb, load, add, d0); Put(c + 8, c01, va, vb, load, add, d1); c += ldc;
            Put(c, c10, va, vb, load, add, d0); Put(c + 8, c11, va, vb, load, add, d1); c += ldc;
            Put(c, c20, va, vb, load, add, d0); Put(c + 8, c21, va, vb, load, add, d1); c += ldc;
            Put(c, c30, va, vb, load, add, d0); Put(c + 8, c31, va, vb, load, add, d1); c += ldc;
            Put(c, c40, va, vb, load, add, d0); Put(c + 8, c41, va, vb, load, add, d1); c += ldc;
            Put(c, c50, va, vb, load, add, d0); Put(c + 8, c51, va, vb, load, add, d1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Put(float* c, Vector256<float> acc, Vector256<float> alpha, Vector256<float> beta, bool load, bool add, Vector256<float> bias)
        {
            var v = load ? Vector256.FusedMultiplyAdd(Vector256.Load(c), beta, acc * alpha) : acc * alpha;
            (add ? v + bias : v).Store(c);
        }
    }

    // Portable fallback; correctness matters here, not speed.
    private struct KScalar : IKernel
    {
        public static int MR => 4;
        public static int NR => 8;

        public static void Run(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta, float* bias)
        {
            float* t = stackalloc float[4 * 8];
            new Span<float>(t, 4 * 8).Clear();
            for (int p = 0; p < kc; p++, a += 4, b += 8)
                for (int r = 0; r < 4; r++)
                    for (int q = 0; q < 8; q++) t[r * 8 + q] += a[r] * b[q];
            Merge(t, 8, c, ldc, 4, 8, alpha, beta, bias);
        }
    }
}
