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
                TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), dst);
                TensorPrimitives.Exp(dst, dst);
                TensorPrimitives.Multiply(dst, 1f / TensorPrimitives.Sum(dst), dst);
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
                var yr = new ReadOnlySpan<float>(py + o, cols);
                var dyr = new ReadOnlySpan<float>(pdy + o, cols);
                var dxr = new Span<float>(pdx + o, cols);
                // dx = y * (dy - <dy, y>)
                TensorPrimitives.Subtract(dyr, TensorPrimitives.Dot(dyr, yr), dxr);
                TensorPrimitives.Multiply(dxr, yr, dxr);
            }
        });
    }

    public void LayerNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> beta, DeviceBuffer<float> y,
        DeviceBuffer<float> mean, DeviceBuffer<float> rstd, int rows, int cols, float epsilon)
    {
        float* px = P(x), pg = P(gamma), pb = P(beta), py = P(y), pm = P(mean), pr = P(rstd);
        CpuParallel.For(rows, RowGrain(cols), (s, e) =>
        {
            var g = new ReadOnlySpan<float>(pg, cols);
            var b = new ReadOnlySpan<float>(pb, cols);
            for (int r = s; r < e; r++)
            {
                var row = new ReadOnlySpan<float>(px + (long)r * cols, cols);
                var dst = new Span<float>(py + (long)r * cols, cols);
                float mu = TensorPrimitives.Sum(row) / cols;
                TensorPrimitives.Subtract(row, mu, dst);
                // Two passes (centre, then square) keep the variance accurate when |mean| >> std.
                float inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(dst) / cols + epsilon);
                TensorPrimitives.Multiply(dst, inv, dst);
                TensorPrimitives.FusedMultiplyAdd(dst, g, b, dst);
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
            float[] scratch = ArrayPool<float>.Shared.Rent(2 * cols);
            var xhat = scratch.AsSpan(0, cols);
            var dxhat = scratch.AsSpan(cols, cols);
            var dg = partials.AsSpan(2 * cols * chunk, cols);
            var db = partials.AsSpan(2 * cols * chunk + cols, cols);
            dg.Clear();
            db.Clear();
            var g = new ReadOnlySpan<float>(pg, cols);
            for (int r = s; r < e; r++)
            {
                long o = (long)r * cols;
                var row = new ReadOnlySpan<float>(px + o, cols);
                var dyr = new ReadOnlySpan<float>(pdy + o, cols);
                var dxr = new Span<float>(pdx + o, cols);
                float inv = pr[r];
                TensorPrimitives.Subtract(row, pm[r], xhat);
                TensorPrimitives.Multiply(xhat, inv, xhat);
                TensorPrimitives.FusedMultiplyAdd(dyr, xhat, dg, dg);
                TensorPrimitives.Add(db, dyr, db);
                TensorPrimitives.Multiply(dyr, g, dxhat);
                // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
                float meanD = TensorPrimitives.Sum(dxhat) / cols;
                float meanDX = TensorPrimitives.Dot(dxhat, xhat) / cols;
                TensorPrimitives.MultiplyAdd(xhat, -meanDX, dxhat, dxr);
                TensorPrimitives.Subtract(dxr, meanD, dxr);
                TensorPrimitives.Multiply(dxr, inv, dxr);
            }
            ArrayPool<float>.Shared.Return(scratch);
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
