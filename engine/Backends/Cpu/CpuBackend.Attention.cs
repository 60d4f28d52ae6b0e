using System.Buffers;
using System.Numerics.Tensors;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>
/// Causal attention per head as GEMMs on square blocks of query rows x keys, so the dot products run in the packed
/// GEMM kernel rather than one row at a time. Blocks above the diagonal are skipped; the diagonal block is computed
/// whole and its masked part zeroed. Each (batch, head) problem is independent, so heads are the unit of parallel
/// work: every GEMM call is kept small enough that CpuGemm runs it on the calling worker (under its 2^20
/// multiply-add threshold), and one head's arithmetic never depends on how heads were shared out, so results are
/// bitwise reproducible.
/// </summary>
public sealed unsafe partial class CpuBackend
{
    // Block edge: large enough to amortise packing and the per-call overhead, small enough that the wasted half of
    // each diagonal block stays a modest share at short sequences.
    private const int AttentionBlock = 64;

    /// <summary>The block edge for a head size, keeping block x block x headDim below CpuGemm's serial threshold.</summary>
    private static int AttentionBlockFor(int headDim) =>
        Math.Clamp((int)Math.Sqrt(((1 << 20) - 1) / Math.Max(1, headDim)), 1, AttentionBlock);

    public void CausalAttention(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output,
        DeviceBuffer<float> logSumExp, int heads, int seq, int headDim, float scale)
    {
        float* pq = P(q), pk = P(k), pv = P(v), po = P(output), plse = P(logSumExp);
        int d = headDim, block = AttentionBlockFor(headDim);
        CpuParallel.For(heads, 1, (s, e) =>
        {
            // A query block's full score rows (seq wide) and its rows' 1/sum.
            float[] scratch = ArrayPool<float>.Shared.Rent(block * seq + block);
            fixed (float* scores = scratch)
            {
                float* inv = scores + block * seq;
                for (int h = s; h < e; h++)
                {
                    long head = (long)h * seq * d;
                    float* qh = pq + head, kh = pk + head, vh = pv + head, oh = po + head, lse = plse + (long)h * seq;
                    for (int i0 = 0; i0 < seq; i0 += block)
                    {
                        int rows = Math.Min(block, seq - i0), i1 = i0 + rows;
                        // S = scale Q_blk K[0, i1)ᵀ, one key block per call.
                        for (int j0 = 0; j0 < i1; j0 += block)
                            CpuGemm.Gemm(false, true, rows, Math.Min(block, i1 - j0), d, scale, qh + (long)i0 * d, d, kh + (long)j0 * d, d, 0f, scores + j0, seq);
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
                        for (int j0 = 0; j0 < i1; j0 += block)
                            CpuGemm.Gemm(false, false, rows, d, Math.Min(block, i1 - j0), 1f, scores + j0, seq, vh + (long)j0 * d, d, j0 == 0 ? 0f : 1f, oh + (long)i0 * d, d);
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
        DeviceBuffer<float> dv, int heads, int seq, int headDim, float scale)
    {
        float* pq = P(q), pk = P(k), pv = P(v), po = P(output), plse = P(logSumExp), pdo = P(dOutput);
        float* pdq = P(dq), pdk = P(dk), pdv = P(dv);
        int d = headDim, block = AttentionBlockFor(headDim);
        CpuParallel.For(heads, 1, (s, e) =>
        {
            // A block of probabilities P, one of dP turned into dS in place, and the head's D_i.
            float[] scratch = ArrayPool<float>.Shared.Rent(2 * block * block + seq);
            fixed (float* probs = scratch)
            {
                float* ds = probs + block * block, rowDot = ds + block * block;
                for (int h = s; h < e; h++)
                {
                    long head = (long)h * seq * d;
                    float* qh = pq + head, kh = pk + head, vh = pv + head, oh = po + head, doh = pdo + head;
                    float* dqh = pdq + head, dkh = pdk + head, dvh = pdv + head, lse = plse + (long)h * seq;
                    // D_i = <dO_i, O_i> equals sum_j p_ij <dO_i, v_j>, the softmax Jacobian's subtracted term.
                    for (int i = 0; i < seq; i++)
                        rowDot[i] = TensorPrimitives.Dot(new ReadOnlySpan<float>(doh + (long)i * d, d), new ReadOnlySpan<float>(oh + (long)i * d, d));
                    // Key block outer, so its dK and dV tiles stay in cache while every query block at or below the
                    // diagonal adds to them; the first (diagonal) block overwrites them, and key block 0 overwrites dQ.
                    for (int j0 = 0; j0 < seq; j0 += block)
                    {
                        int cols = Math.Min(block, seq - j0);
                        float* kb = kh + (long)j0 * d, vb = vh + (long)j0 * d, dkb = dkh + (long)j0 * d, dvb = dvh + (long)j0 * d;
                        for (int i0 = j0; i0 < seq; i0 += block)
                        {
                            int rows = Math.Min(block, seq - i0);
                            float* qb = qh + (long)i0 * d, dob = doh + (long)i0 * d, dqb = dqh + (long)i0 * d;
                            float kvBeta = i0 == j0 ? 0f : 1f, qBeta = j0 == 0 ? 0f : 1f;
                            // P = exp(scale Q Kᵀ - lse), recomputed from the saved logsumexp; masked entries are 0.
                            CpuGemm.Gemm(false, true, rows, cols, d, scale, qb, d, kb, d, 0f, probs, block);
                            for (int r = 0; r < rows; r++)
                            {
                                int visible = Math.Min(cols, i0 + r + 1 - j0);
                                var row = new Span<float>(probs + r * block, cols);
                                CpuExp.ExpShifted(row[..visible], lse[i0 + r], 1f, row);
                                row[visible..].Clear();
                            }
                            // dV += Pᵀ dO
                            CpuGemm.Gemm(true, false, cols, d, rows, 1f, probs, block, dob, d, kvBeta, dvb, d);
                            // dS = P ∘ (dO Vᵀ - D)
                            CpuGemm.Gemm(false, true, rows, cols, d, 1f, dob, d, vb, d, 0f, ds, block);
                            for (int r = 0; r < rows; r++)
                            {
                                var dsRow = new Span<float>(ds + r * block, cols);
                                TensorPrimitives.Subtract(dsRow, rowDot[i0 + r], dsRow);
                                TensorPrimitives.Multiply(dsRow, new ReadOnlySpan<float>(probs + r * block, cols), dsRow);
                            }
                            // dQ += scale dS K, dK += scale dSᵀ Q
                            CpuGemm.Gemm(false, false, rows, d, cols, scale, ds, block, kb, d, qBeta, dqb, d);
                            CpuGemm.Gemm(true, false, cols, d, rows, scale, ds, block, qb, d, kvBeta, dkb, d);
                        }
                    }
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }
}
