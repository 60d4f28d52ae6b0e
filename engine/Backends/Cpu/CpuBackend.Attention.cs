using System.Buffers;
using System.Numerics.Tensors;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>
/// Causal attention per head as GEMMs on blocks of query rows x keys, so the dot products run in the packed GEMM
/// kernel rather than one row at a time. Blocks above the diagonal are skipped, and a query block's last key block
/// ends at its last row, so the only masked work is the triangle of one query block's square. Each (batch, head)
/// problem is independent, so heads are the unit of parallel work: every GEMM call is kept small enough that
/// CpuGemm runs it on the calling worker (under its 2^20 multiply-add threshold), and a head's arithmetic never
/// depends on how heads were shared out, so results are bitwise reproducible.
/// </summary>
public sealed unsafe partial class CpuBackend
{
    // Query rows per block: few enough that the masked triangle of each diagonal block stays a small share of the
    // work at short sequences, enough to amortise the GEMM's packing of the key block. Keys per block: a multiple of
    // the query block (so key blocks start on query block boundaries) for fewer, larger GEMM calls. Both are
    // multiples of the GEMM kernels' row panels (6 or 12) and the key block of their column panels (16 or 32):
    // partial panels take a much slower path.
    private const int QueryBlock = 48, KeyBlock = 96;

    /// <summary>Block sizes for a head size: as large as the defaults allow with query x key x headDim multiply-adds
    /// per GEMM call below CpuGemm's serial threshold.</summary>
    private static (int Query, int Key) AttentionBlocks(int headDim)
    {
        int limit = ((1 << 20) - 1) / Math.Max(1, headDim);
        int query = Math.Clamp((int)Math.Sqrt(limit), 1, QueryBlock);
        return (query, query * Math.Clamp(limit / (query * query), 1, KeyBlock / QueryBlock));
    }

    public void CausalAttention(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, int heads, int queriesPerKvHead, int seq, int headDim, float scale)
    {
        float* pq = P(q), pk = P(k), pv = P(v), po = P(output), plse = P(logSumExp);
        int d = headDim;
        var (qBlock, kBlock) = AttentionBlocks(headDim);
        CpuParallel.For(heads, 1, (s, e) =>
        {
            // A query block's full score rows (seq wide) and its rows' 1/sum.
            float[] scratch = ArrayPool<float>.Shared.Rent(qBlock * seq + qBlock);
            fixed (float* scores = scratch)
            {
                float* inv = scores + qBlock * seq;
                for (int h = s; h < e; h++)
                {
                    long head = (long)h * seq * d, kvHead = (long)(h / queriesPerKvHead) * seq * d;
                    float* qh = pq + head, kh = pk + kvHead, vh = pv + kvHead, oh = po + head, lse = plse + (long)h * seq;
                    for (int i0 = 0; i0 < seq; i0 += qBlock)
                    {
                        int rows = Math.Min(qBlock, seq - i0), i1 = i0 + rows;
                        // S = scale Q_blk K[0, i1)ᵀ, one key block per call.
                        for (int j0 = 0; j0 < i1; j0 += kBlock)
                            CpuGemm.Gemm(false, true, rows, Math.Min(kBlock, i1 - j0), d, scale, qh + (long)i0 * d, d, kh + (long)j0 * d, d, 0f, scores + j0, seq);
                        for (int r = 0; r < rows; r++)
                        {
                            int visible = i0 + r + 1;
                            var row = new Span<float>(scores + (long)r * seq, i1);
                            float max = TensorPrimitives.Max(row[..visible]);
                            float sum = CpuExp.ExpShifted(row[..visible], max, 1f, row);
                            row[visible..].Clear();
                            lse[i0 + r] = max + MathF.Log(sum);
                            inv[r] = 1f / sum;
                        }
                        // O_blk = P V[0, i1) with unnormalised P, then each row scaled by 1/sum (D wide rather than i1).
                        for (int j0 = 0; j0 < i1; j0 += kBlock)
                            CpuGemm.Gemm(false, false, rows, d, Math.Min(kBlock, i1 - j0), 1f, scores + j0, seq, vh + (long)j0 * d, d, j0 == 0 ? 0f : 1f, oh + (long)i0 * d, d);
                        for (int r = 0; r < rows; r++)
                        {
                            var orow = new Span<float>(oh + (long)(i0 + r) * d, d);
                            TensorPrimitives.Multiply(orow, inv[r], orow);
                        }
                    }
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }

    public void CausalAttentionBackward(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, DeviceBuffer<float> dOutput, DeviceBuffer<float> dq, DeviceBuffer<float> dk,
        DeviceBuffer<float> dv, int heads, int queriesPerKvHead, int seq, int headDim, float scale)
    {
        float* pq = P(q), pk = P(k), pv = P(v), po = P(output), plse = P(logSumExp), pdo = P(dOutput);
        float* pdq = P(dq), pdk = P(dk), pdv = P(dv);
        int d = headDim;
        var (qBlock, kBlock) = AttentionBlocks(headDim);
        // Key/value heads are the unit of parallel work: the query heads that share one add into its dK and dV, so one
        // worker owns all of them and no two workers write the same rows.
        CpuParallel.For(heads / queriesPerKvHead, 1, (s, e) =>
        {
            // A block of probabilities P, one of dP turned into dS in place, and the head's D_i.
            float[] scratch = ArrayPool<float>.Shared.Rent(2 * qBlock * kBlock + seq);
            fixed (float* probs = scratch)
            {
                float* ds = probs + qBlock * kBlock, rowDot = ds + qBlock * kBlock;
                for (int kvh = s; kvh < e; kvh++)
                {
                    long kvHead = (long)kvh * seq * d;
                    float* kh = pk + kvHead, vh = pv + kvHead, dkh = pdk + kvHead, dvh = pdv + kvHead;
                    // Every block pair adds into dQ, dK and dV, so they start from zero (not from what they held).
                    new Span<float>(dkh, seq * d).Clear();
                    new Span<float>(dvh, seq * d).Clear();
                    for (int h = kvh * queriesPerKvHead; h < (kvh + 1) * queriesPerKvHead; h++)
                    {
                        long head = (long)h * seq * d;
                        float* qh = pq + head, oh = po + head, doh = pdo + head, dqh = pdq + head, lse = plse + (long)h * seq;
                        new Span<float>(dqh, seq * d).Clear();
                        // D_i = <dO_i, O_i> equals sum_j p_ij <dO_i, v_j>, the softmax Jacobian's subtracted term.
                        for (int i = 0; i < seq; i++)
                            rowDot[i] = TensorPrimitives.Dot(new ReadOnlySpan<float>(doh + (long)i * d, d), new ReadOnlySpan<float>(oh + (long)i * d, d));
                        // Key block outer, so its dK and dV rows stay in cache while every query block at or below the
                        // diagonal adds to them.
                        for (int j0 = 0; j0 < seq; j0 += kBlock)
                        {
                            float* kb = kh + (long)j0 * d, vb = vh + (long)j0 * d, dkb = dkh + (long)j0 * d, dvb = dvh + (long)j0 * d;
                            for (int i0 = j0; i0 < seq; i0 += qBlock)
                            {
                                // Keys past the query block's last row are masked for all of its rows.
                                int rows = Math.Min(qBlock, seq - i0), cols = Math.Min(Math.Min(kBlock, seq - j0), i0 + rows - j0);
                                float* qb = qh + (long)i0 * d, dob = doh + (long)i0 * d, dqb = dqh + (long)i0 * d;
                                // P = exp(scale Q Kᵀ - lse), recomputed from the saved logsumexp; masked entries are 0.
                                CpuGemm.Gemm(false, true, rows, cols, d, scale, qb, d, kb, d, 0f, probs, kBlock);
                                for (int r = 0; r < rows; r++)
                                {
                                    int visible = Math.Min(cols, i0 + r + 1 - j0);
                                    var row = new Span<float>(probs + r * kBlock, cols);
                                    CpuExp.ExpShifted(row[..visible], lse[i0 + r], 1f, row);
                                    row[visible..].Clear();
                                }
                                // dV += Pᵀ dO
                                CpuGemm.Gemm(true, false, cols, d, rows, 1f, probs, kBlock, dob, d, 1f, dvb, d);
                                // dS = P ∘ (dO Vᵀ - D)
                                CpuGemm.Gemm(false, true, rows, cols, d, 1f, dob, d, vb, d, 0f, ds, kBlock);
                                for (int r = 0; r < rows; r++)
                                {
                                    var dsRow = new Span<float>(ds + r * kBlock, cols);
                                    TensorPrimitives.Subtract(dsRow, rowDot[i0 + r], dsRow);
                                    TensorPrimitives.Multiply(dsRow, new ReadOnlySpan<float>(probs + r * kBlock, cols), dsRow);
                                }
                                // dQ += scale dS K, dK += scale dSᵀ Q
                                CpuGemm.Gemm(false, false, rows, d, cols, scale, ds, kBlock, kb, d, 1f, dqb, d);
                                CpuGemm.Gemm(true, false, cols, d, rows, scale, ds, kBlock, qb, d, 1f, dkb, d);
                            }
                        }
                    }
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }
}
