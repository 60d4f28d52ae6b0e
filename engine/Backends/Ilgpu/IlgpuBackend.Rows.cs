using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;
using Ints = ILGPU.ArrayView<int>;

namespace HardFocus.Engine.Backends.Ilgpu;

// One group per row: its threads stride over the columns and combine partial results with shared-memory reductions.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, int> SoftmaxK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, int>(SoftmaxKernel);
    private Action<KernelConfig, Floats, Floats, Floats, int> SoftmaxBackwardK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int>(SoftmaxBackwardKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, int, float> LayerNormK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, int, float>(LayerNormKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, int> LayerNormBackwardK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, int>(LayerNormBackwardKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, Floats, int, int, int> LayerNormParamGradK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, Floats, int, int, int>(LayerNormParamGradKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, int, float> RmsNormK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, int, float>(RmsNormKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, int> RmsNormBackwardK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, int>(RmsNormBackwardKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, int, int, int> RmsNormGammaGradK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, int, int, int>(RmsNormGammaGradKernel);
    private Action<KernelConfig, Floats, Ints, Floats, int, Floats, Floats, int> CrossEntropyK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Ints, Floats, int, Floats, Floats, int>(CrossEntropyKernel);
    private Action<KernelConfig, Floats, Ints, Floats, int, Floats, Floats, Floats, int, int> CrossEntropyBackwardK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Ints, Floats, int, Floats, Floats, Floats, int, int>(CrossEntropyBackwardKernel);
    private Action<KernelConfig, Floats, Floats, Floats, int> MaskedRowMeanK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int>(MaskedRowMeanKernel);
    private Action<KernelConfig, Floats, Floats, Floats, int> MaskedRowMeanBackwardK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int>(MaskedRowMeanBackwardKernel);

    private KernelConfig Rows(int rows) => Groups(rows, _groupSize);

    public void Softmax(DeviceBuffer<float> x, DeviceBuffer<float> y, int rows, int cols)
    {
        if (rows > 0 && cols > 0) SoftmaxK(Rows(rows), V(x), V(y), cols);
    }

    public void SoftmaxBackward(DeviceBuffer<float> y, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int rows, int cols)
    {
        if (rows > 0 && cols > 0) SoftmaxBackwardK(Rows(rows), V(y), V(dy), V(dx), cols);
    }

    public void LayerNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> beta, DeviceBuffer<float> y,
        DeviceBuffer<float> mean, DeviceBuffer<float> rstd, int rows, int cols, float epsilon)
    {
        if (rows > 0 && cols > 0) LayerNormK(Rows(rows), V(x), V(gamma), V(beta), V(y), V(mean), V(rstd), cols, epsilon);
    }

    public void LayerNormBackward(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> mean, DeviceBuffer<float> rstd,
        DeviceBuffer<float> dy, DeviceBuffer<float> dx, DeviceBuffer<float> dGammaAccumulate, DeviceBuffer<float> dBetaAccumulate,
        int rows, int cols)
    {
        if (rows == 0 || cols == 0) return;
        LayerNormBackwardK(Rows(rows), V(x), V(gamma), V(mean), V(rstd), V(dy), V(dx), cols);
        // dgamma/dbeta are column sums over all rows: a separate column-reduction launch needs no atomics.
        LayerNormParamGradK(Columns(cols), V(x), V(mean), V(rstd), V(dy), V(dGammaAccumulate), V(dBetaAccumulate), rows, cols, ColumnLanes);
    }

    public void RmsNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> y, DeviceBuffer<float> rstd,
        int rows, int cols, float epsilon)
    {
        if (rows > 0 && cols > 0) RmsNormK(Rows(rows), V(x), V(gamma), V(y), V(rstd), cols, epsilon);
    }

    public void RmsNormBackward(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> rstd, DeviceBuffer<float> dy,
        DeviceBuffer<float> dx, DeviceBuffer<float> dGammaAccumulate, int rows, int cols)
    {
        if (rows == 0 || cols == 0) return;
        RmsNormBackwardK(Rows(rows), V(x), V(gamma), V(rstd), V(dy), V(dx), cols);
        // dgamma is a column sum over all rows: its own column-reduction launch, no atomics (as for LayerNorm).
        RmsNormGammaGradK(Columns(cols), V(x), V(rstd), V(dy), V(dGammaAccumulate), rows, cols, ColumnLanes);
    }

    public void CrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<int> targets, DeviceBuffer<float>? mask,
        DeviceBuffer<float> losses, DeviceBuffer<float> logSumExp, int rows, int vocab)
    {
        // A kernel cannot throw: an out-of-range target on an unmasked row gives a NaN loss instead.
        if (rows > 0 && vocab > 0)
            CrossEntropyK(Rows(rows), V(logits), V(targets), V(mask ?? losses), mask == null ? 0 : 1, V(losses), V(logSumExp), vocab);
    }

    public void CrossEntropyBackward(DeviceBuffer<float> logits, DeviceBuffer<int> targets, DeviceBuffer<float>? mask,
        DeviceBuffer<float> logSumExp, DeviceBuffer<float> dLosses, DeviceBuffer<float> dLogits, int rows, int vocab)
    {
        // Element-wise given the saved logsumexp, so it runs grid-stride rather than per row.
        if (rows > 0 && vocab > 0)
            CrossEntropyBackwardK(Stride(rows * vocab), V(logits), V(targets), V(mask ?? dLosses), mask == null ? 0 : 1,
                V(logSumExp), V(dLosses), V(dLogits), rows, vocab);
    }

    public void MaskedRowMean(DeviceBuffer<float> x, DeviceBuffer<float> mask, DeviceBuffer<float> y, int rows, int cols)
    {
        if (rows > 0) MaskedRowMeanK(Rows(rows), V(x), V(mask), V(y), cols);
    }

    public void MaskedRowMeanBackward(DeviceBuffer<float> mask, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int rows, int cols)
    {
        if (rows > 0 && cols > 0) MaskedRowMeanBackwardK(Rows(rows), V(mask), V(dy), V(dx), cols);
    }

    private static void SoftmaxKernel(Floats x, Floats y, int cols)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        long o = (long)Grid.IdxX * cols;
        float max = float.NegativeInfinity;
        for (int c = Group.IdxX; c < cols; c += Group.DimX) max = XMath.Max(max, x[o + c]);
        max = GroupMax(scratch, max);
        float sum = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX)
        {
            float e = XMath.Exp(x[o + c] - max);
            y[o + c] = e;
            sum += e;
        }
        float inv = 1f / GroupSum(scratch, sum);
        for (int c = Group.IdxX; c < cols; c += Group.DimX) y[o + c] *= inv;
    }

    private static void SoftmaxBackwardKernel(Floats y, Floats dy, Floats dx, int cols)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        long o = (long)Grid.IdxX * cols;
        float dot = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX) dot += dy[o + c] * y[o + c];
        dot = GroupSum(scratch, dot);
        for (int c = Group.IdxX; c < cols; c += Group.DimX) dx[o + c] = (dy[o + c] - dot) * y[o + c];
    }

    private static void LayerNormKernel(Floats x, Floats gamma, Floats beta, Floats y, Floats mean, Floats rstd, int cols, float epsilon)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        int row = Grid.IdxX;
        long o = (long)row * cols;
        float sum = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX) sum += x[o + c];
        float mu = GroupSum(scratch, sum) / cols;
        // Centre first, then square: accurate when |mean| >> std, as on the CPU.
        float squares = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX)
        {
            float d = x[o + c] - mu;
            squares += d * d;
        }
        float inv = 1f / XMath.Sqrt(GroupSum(scratch, squares) / cols + epsilon);
        for (int c = Group.IdxX; c < cols; c += Group.DimX) y[o + c] = (x[o + c] - mu) * inv * gamma[c] + beta[c];
        if (Group.IdxX == 0)
        {
            mean[row] = mu;
            rstd[row] = inv;
        }
    }

    private static void LayerNormBackwardKernel(Floats x, Floats gamma, Floats mean, Floats rstd, Floats dy, Floats dx, int cols)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        int row = Grid.IdxX;
        long o = (long)row * cols;
        float mu = mean[row], inv = rstd[row], sumD = 0f, sumDX = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX)
        {
            float d = dy[o + c] * gamma[c];
            sumD += d;
            sumDX += d * (x[o + c] - mu) * inv;
        }
        float meanD = GroupSum(scratch, sumD) / cols, meanDX = GroupSum(scratch, sumDX) / cols;
        // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        for (int c = Group.IdxX; c < cols; c += Group.DimX)
            dx[o + c] = inv * (dy[o + c] * gamma[c] - meanD - (x[o + c] - mu) * inv * meanDX);
    }

    private static void LayerNormParamGradKernel(Floats x, Floats mean, Floats rstd, Floats dy, Floats dGamma, Floats dBeta,
        int rows, int cols, int lanes)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        int col = Grid.IdxX * lanes + Group.IdxX % lanes;
        float dg = 0f, db = 0f;
        if (col < cols)
            for (int r = Group.IdxX / lanes; r < rows; r += Group.DimX / lanes)
            {
                long i = (long)r * cols + col;
                dg += dy[i] * (x[i] - mean[r]) * rstd[r];
                db += dy[i];
            }
        dg = ColumnTotal(scratch, dg, lanes);
        db = ColumnTotal(scratch, db, lanes);
        if (Group.IdxX < lanes && col < cols)
        {
            dGamma[col] += dg;
            dBeta[col] += db;
        }
    }

    private static void RmsNormKernel(Floats x, Floats gamma, Floats y, Floats rstd, int cols, float epsilon)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        int row = Grid.IdxX;
        long o = (long)row * cols;
        float squares = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX) squares += x[o + c] * x[o + c];
        float inv = 1f / XMath.Sqrt(GroupSum(scratch, squares) / cols + epsilon);
        for (int c = Group.IdxX; c < cols; c += Group.DimX) y[o + c] = x[o + c] * inv * gamma[c];
        if (Group.IdxX == 0) rstd[row] = inv;
    }

    private static void RmsNormBackwardKernel(Floats x, Floats gamma, Floats rstd, Floats dy, Floats dx, int cols)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        int row = Grid.IdxX;
        long o = (long)row * cols;
        float inv = rstd[row], sumDX = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX) sumDX += dy[o + c] * gamma[c] * x[o + c] * inv;
        float meanDX = GroupSum(scratch, sumDX) / cols;
        // dx = rstd * (dxhat - xhat * mean(dxhat * xhat))
        for (int c = Group.IdxX; c < cols; c += Group.DimX)
            dx[o + c] = inv * (dy[o + c] * gamma[c] - x[o + c] * inv * meanDX);
    }

    private static void RmsNormGammaGradKernel(Floats x, Floats rstd, Floats dy, Floats dGamma, int rows, int cols, int lanes)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        int col = Grid.IdxX * lanes + Group.IdxX % lanes;
        float dg = 0f;
        if (col < cols)
            for (int r = Group.IdxX / lanes; r < rows; r += Group.DimX / lanes)
            {
                long i = (long)r * cols + col;
                dg += dy[i] * x[i] * rstd[r];
            }
        dg = ColumnTotal(scratch, dg, lanes);
        if (Group.IdxX < lanes && col < cols) dGamma[col] += dg;
    }

    private static void CrossEntropyKernel(Floats logits, Ints targets, Floats mask, int hasMask, Floats losses, Floats logSumExp, int vocab)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        int row = Grid.IdxX;
        long o = (long)row * vocab;
        float max = float.NegativeInfinity;
        for (int c = Group.IdxX; c < vocab; c += Group.DimX) max = XMath.Max(max, logits[o + c]);
        max = GroupMax(scratch, max);
        float sum = 0f;
        for (int c = Group.IdxX; c < vocab; c += Group.DimX) sum += XMath.Exp(logits[o + c] - max);
        float lse = max + XMath.Log(GroupSum(scratch, sum));
        if (Group.IdxX == 0)
        {
            logSumExp[row] = lse;
            int target = targets[row];
            losses[row] = hasMask != 0 && mask[row] == 0f ? 0f
                : (uint)target < (uint)vocab ? lse - logits[o + target] : float.NaN;
        }
    }

    private static void CrossEntropyBackwardKernel(Floats logits, Ints targets, Floats mask, int hasMask, Floats logSumExp,
        Floats dLosses, Floats dLogits, int rows, int vocab)
    {
        int count = rows * vocab;
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            int row = i / vocab, col = i - row * vocab;
            if (hasMask != 0 && mask[row] == 0f)
            {
                dLogits[i] = 0f;
                continue;
            }
            float g = dLosses[row], d = XMath.Exp(logits[i] - logSumExp[row]) * g;
            dLogits[i] = col == targets[row] ? d - g : d;
        }
    }

    private static void MaskedRowMeanKernel(Floats x, Floats mask, Floats y, int cols)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        long o = (long)Grid.IdxX * cols;
        float n = 0f, s = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX)
        {
            n += mask[o + c];
            s += mask[o + c] * x[o + c];
        }
        n = GroupSum(scratch, n);
        s = GroupSum(scratch, s);
        if (Group.IdxX == 0) y[Grid.IdxX] = n == 0f ? 0f : s / n;
    }

    private static void MaskedRowMeanBackwardKernel(Floats mask, Floats dy, Floats dx, int cols)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        long o = (long)Grid.IdxX * cols;
        float n = 0f;
        for (int c = Group.IdxX; c < cols; c += Group.DimX) n += mask[o + c];
        n = GroupSum(scratch, n);
        float scale = n == 0f ? 0f : dy[Grid.IdxX] / n;
        for (int c = Group.IdxX; c < cols; c += Group.DimX) dx[o + c] = mask[o + c] * scale;
    }
}
