using System.Buffers;
using System.Numerics.Tensors;

namespace HardFocus.Engine.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    private static int RowGrain(int cols) => Math.Max(1, ElementGrain / Math.Max(1, cols));

    public void Softmax(DeviceBuffer<float> x, DeviceBuffer<float> y, int rows, int cols)
    {
        float* px = P(x), py = P(y);
        CpuParallel.For(rows, RowGrain(cols), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var row = new ReadOnlySpan<float>(px + (long)r * cols, cols);
                var dst = new Span<float>(py + (long)r * cols, cols);
                // Three passes (max; exp and sum; scale) with CpuExp's float exp, which measured about 2x faster
                // than TensorPrimitives.Exp; the exp pass writes and sums in one go.
                float sum = CpuExp.ExpShifted(row, TensorPrimitives.Max(row), 1f, dst);
                TensorPrimitives.Multiply(dst, 1f / sum, dst);
            }
        });
    }

    public void SoftmaxBackward(DeviceBuffer<float> y, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int rows, int cols)
    {
        float* py = P(y), pdy = P(dy), pdx = P(dx);
        CpuParallel.For(rows, RowGrain(cols), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                long o = (long)r * cols;
                RowKernels.SoftmaxGrad(py + o, pdy + o, pdx + o, cols);
            }
        });
    }

    public void LayerNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> beta, DeviceBuffer<float> y,
        DeviceBuffer<float> mean, DeviceBuffer<float> rstd, int rows, int cols, float epsilon)
    {
        float* px = P(x), pg = P(gamma), pb = P(beta), py = P(y), pm = P(mean), pr = P(rstd);
        CpuParallel.For(rows, RowGrain(cols), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                float* row = px + (long)r * cols;
                float mu = TensorPrimitives.Sum(new ReadOnlySpan<float>(row, cols)) / cols;
                // Two passes (mean, then squares of the centred values) keep the variance accurate when |mean| >> std;
                // the row is in L1 by then, and the last pass writes y straight from x without a centred copy.
                float inv = 1f / MathF.Sqrt(RowKernels.CentredSumOfSquares(row, mu, cols) / cols + epsilon);
                RowKernels.Normalize(row, mu, inv, pg, pb, py + (long)r * cols, cols);
                pm[r] = mu;
                pr[r] = inv;
            }
        });
    }

    public void LayerNormBackward(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> mean, DeviceBuffer<float> rstd,
        DeviceBuffer<float> dy, DeviceBuffer<float> dx, DeviceBuffer<float> dGammaAccumulate, DeviceBuffer<float> dBetaAccumulate,
        int rows, int cols)
    {
        float* px = P(x), pg = P(gamma), pm = P(mean), pr = P(rstd), pdy = P(dy), pdx = P(dx);
        float* pdg = P(dGammaAccumulate), pdb = P(dBetaAccumulate);
        int grain = RowGrain(cols);
        int chunks = CpuParallel.ChunkCount(rows, grain);
        // Each chunk sums its own dgamma/dbeta; merging them in chunk order keeps results bitwise reproducible.
        float[] partials = ArrayPool<float>.Shared.Rent(2 * cols * chunks);
        CpuParallel.For(rows, grain, (chunk, s, e) =>
        {
            fixed (float* part = partials.AsSpan(2 * cols * chunk, 2 * cols))
            {
                new Span<float>(part, 2 * cols).Clear();
                for (int r = s; r < e; r++)
                {
                    long o = (long)r * cols;
                    // Two passes over x and dy, no scratch row: the first accumulates dgamma, dbeta and the two row
                    // means; the second recomputes xhat and dxhat = dy * gamma and writes
                    // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
                    var (sumD, sumDX) = RowKernels.LayerNormGradStats(px + o, pdy + o, pg, pm[r], pr[r], part, part + cols, cols);
                    RowKernels.LayerNormGradInput(px + o, pdy + o, pg, pm[r], pr[r], sumD / cols, sumDX / cols, pdx + o, cols);
                }
            }
        });
        var dgOut = new Span<float>(pdg, cols);
        var dbOut = new Span<float>(pdb, cols);
        for (int c = 0; c < chunks; c++)
        {
            TensorPrimitives.Add(dgOut, partials.AsSpan(2 * cols * c, cols), dgOut);
            TensorPrimitives.Add(dbOut, partials.AsSpan(2 * cols * c + cols, cols), dbOut);
        }
        ArrayPool<float>.Shared.Return(partials);
    }

    public void RmsNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> y, DeviceBuffer<float> rstd,
        int rows, int cols, float epsilon)
    {
        float* px = P(x), pg = P(gamma), py = P(y), pr = P(rstd);
        CpuParallel.For(rows, RowGrain(cols), (s, e) =>
        {
            var g = new ReadOnlySpan<float>(pg, cols);
            for (int r = s; r < e; r++)
            {
                var row = new ReadOnlySpan<float>(px + (long)r * cols, cols);
                var dst = new Span<float>(py + (long)r * cols, cols);
                float inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(row) / cols + epsilon);
                // (x * rstd) * gamma, in Hugging Face's order, so a checkpoint's logits match to the last bit it can.
                TensorPrimitives.Multiply(row, inv, dst);
                TensorPrimitives.Multiply(dst, g, dst);
                pr[r] = inv;
            }
        });
    }

    public void RmsNormBackward(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> rstd, DeviceBuffer<float> dy,
        DeviceBuffer<float> dx, DeviceBuffer<float> dGammaAccumulate, int rows, int cols)
    {
        float* px = P(x), pg = P(gamma), pr = P(rstd), pdy = P(dy), pdx = P(dx), pdg = P(dGammaAccumulate);
        int grain = RowGrain(cols);
        int chunks = CpuParallel.ChunkCount(rows, grain);
        // Per-chunk dgamma merged in chunk order, as in LayerNormBackward: bitwise reproducible.
        float[] partials = ArrayPool<float>.Shared.Rent(cols * chunks);
        CpuParallel.For(rows, grain, (chunk, s, e) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(2 * cols);
            var xhat = scratch.AsSpan(0, cols);
            var dxhat = scratch.AsSpan(cols, cols);
            var dg = partials.AsSpan(cols * chunk, cols);
            dg.Clear();
            var g = new ReadOnlySpan<float>(pg, cols);
            for (int r = s; r < e; r++)
            {
                long o = (long)r * cols;
                var dyr = new ReadOnlySpan<float>(pdy + o, cols);
                var dxr = new Span<float>(pdx + o, cols);
                float inv = pr[r];
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(px + o, cols), inv, xhat);
                TensorPrimitives.FusedMultiplyAdd(dyr, xhat, dg, dg);
                TensorPrimitives.Multiply(dyr, g, dxhat);
                // dx = rstd * (dxhat - xhat * mean(dxhat * xhat)): no mean term, RMSNorm does not centre.
                float meanDX = TensorPrimitives.Dot(dxhat, xhat) / cols;
                TensorPrimitives.MultiplyAdd(xhat, -meanDX, dxhat, dxr);
                TensorPrimitives.Multiply(dxr, inv, dxr);
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
        var dgOut = new Span<float>(pdg, cols);
        for (int c = 0; c < chunks; c++) TensorPrimitives.Add(dgOut, partials.AsSpan(cols * c, cols), dgOut);
        ArrayPool<float>.Shared.Return(partials);
    }

    public void CrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<int> targets, DeviceBuffer<float>? mask,
        DeviceBuffer<float> losses, DeviceBuffer<float> logSumExp, int rows, int vocab)
    {
        float* pl = P(logits), ploss = P(losses), plse = P(logSumExp);
        int* pt = P(targets);
        float* pmask = mask == null ? null : P(mask);
        // One streaming read per row: the online logsumexp needs no max pass and no scratch row.
        CpuParallel.For(rows, RowGrain(vocab), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var row = new ReadOnlySpan<float>(pl + (long)r * vocab, vocab);
                float lse = CpuExp.LogSumExp(row);
                plse[r] = lse;
                bool active = pmask == null || pmask[r] != 0f;
                ploss[r] = active ? lse - row[CheckedTarget(pt[r], vocab, r)] : 0f;
            }
        });
    }

    public void CrossEntropyBackward(DeviceBuffer<float> logits, DeviceBuffer<int> targets, DeviceBuffer<float>? mask,
        DeviceBuffer<float> logSumExp, DeviceBuffer<float> dLosses, DeviceBuffer<float> dLogits, int rows, int vocab)
    {
        float* pl = P(logits), plse = P(logSumExp), pdl = P(dLosses), pd = P(dLogits);
        int* pt = P(targets);
        float* pmask = mask == null ? null : P(mask);
        CpuParallel.For(rows, RowGrain(vocab), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var dst = new Span<float>(pd + (long)r * vocab, vocab);
                if (pmask != null && pmask[r] == 0f)
                {
                    dst.Clear();
                    continue;
                }
                float g = pdl[r];
                CpuExp.ExpShifted(new ReadOnlySpan<float>(pl + (long)r * vocab, vocab), plse[r], g, dst);
                dst[CheckedTarget(pt[r], vocab, r)] -= g;
            }
        });
    }

    private static int CheckedTarget(int target, int vocab, int row) =>
        (uint)target < (uint)vocab ? target : throw new ArgumentOutOfRangeException(nameof(target), $"Target {target} at row {row} is outside the vocabulary [0, {vocab}).");

    public void MaskedRowMean(DeviceBuffer<float> x, DeviceBuffer<float> mask, DeviceBuffer<float> y, int rows, int cols)
    {
        float* px = P(x), pm = P(mask), py = P(y);
        for (int r = 0; r < rows; r++)
        {
            var m = new ReadOnlySpan<float>(pm + (long)r * cols, cols);
            float n = TensorPrimitives.Sum(m);
            py[r] = n == 0f ? 0f : TensorPrimitives.Dot(new ReadOnlySpan<float>(px + (long)r * cols, cols), m) / n;
        }
    }

    public void MaskedRowMeanBackward(DeviceBuffer<float> mask, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int rows, int cols)
    {
        float* pm = P(mask), pdy = P(dy), pdx = P(dx);
        for (int r = 0; r < rows; r++)
        {
            var m = new ReadOnlySpan<float>(pm + (long)r * cols, cols);
            float n = TensorPrimitives.Sum(m);
            TensorPrimitives.Multiply(m, n == 0f ? 0f : pdy[r] / n, new Span<float>(pdx + (long)r * cols, cols));
        }
    }
}
