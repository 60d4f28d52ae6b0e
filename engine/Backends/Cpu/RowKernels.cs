using System.Numerics;
using System.Runtime.CompilerServices;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>
/// Fused per-row loops for the normalisation kernels: each does in one pass what would otherwise take two or three
/// TensorPrimitives calls, each re-reading the row and writing an intermediate. Written on <see cref="Vector{T}"/>
/// with a scalar tail, so one path serves AVX2, AVX-512 and Arm.
/// </summary>
internal static unsafe class RowKernels
{
    /// <summary>sum((x - mu)^2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float CentredSumOfSquares(float* x, float mu, int n)
    {
        int w = Vector<float>.Count, j = 0;
        var vmu = new Vector<float>(mu);
        Vector<float> s0 = default, s1 = default; // two accumulators hide the FMA latency
        for (; j + 2 * w <= n; j += 2 * w)
        {
            var d0 = Vector.Load(x + j) - vmu;
            var d1 = Vector.Load(x + j + w) - vmu;
            s0 = Vector.FusedMultiplyAdd(d0, d0, s0);
            s1 = Vector.FusedMultiplyAdd(d1, d1, s1);
        }
        for (; j + w <= n; j += w)
        {
            var d = Vector.Load(x + j) - vmu;
            s0 = Vector.FusedMultiplyAdd(d, d, s0);
        }
        float sum = Vector.Sum(s0 + s1);
        for (; j < n; j++) sum += (x[j] - mu) * (x[j] - mu);
        return sum;
    }

    /// <summary>dx = (dy - sum(dy * y)) * y: the softmax backward of one row, the dot product first, then one pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxGrad(float* y, float* dy, float* dx, int n)
    {
        int w = Vector<float>.Count, j = 0;
        Vector<float> s0 = default, s1 = default;
        for (; j + 2 * w <= n; j += 2 * w)
        {
            s0 = Vector.FusedMultiplyAdd(Vector.Load(dy + j), Vector.Load(y + j), s0);
            s1 = Vector.FusedMultiplyAdd(Vector.Load(dy + j + w), Vector.Load(y + j + w), s1);
        }
        for (; j + w <= n; j += w) s0 = Vector.FusedMultiplyAdd(Vector.Load(dy + j), Vector.Load(y + j), s0);
        float dot = Vector.Sum(s0 + s1);
        for (; j < n; j++) dot = MathF.FusedMultiplyAdd(dy[j], y[j], dot);
        var vd = new Vector<float>(dot);
        for (j = 0; j + w <= n; j += w) ((Vector.Load(dy + j) - vd) * Vector.Load(y + j)).Store(dx + j);
        for (; j < n; j++) dx[j] = (dy[j] - dot) * y[j];
    }

    /// <summary>y = (x - mu) * inv * gamma + beta.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normalize(float* x, float mu, float inv, float* gamma, float* beta, float* y, int n)
    {
        int w = Vector<float>.Count, j = 0;
        var vmu = new Vector<float>(mu);
        var vinv = new Vector<float>(inv);
        for (; j + w <= n; j += w)
            Vector.FusedMultiplyAdd((Vector.Load(x + j) - vmu) * vinv, Vector.Load(gamma + j), Vector.Load(beta + j)).Store(y + j);
        for (; j < n; j++) y[j] = MathF.FusedMultiplyAdd((x[j] - mu) * inv, gamma[j], beta[j]);
    }

    /// <summary>
    /// With xhat = (x - mu) * inv and dxhat = dy * gamma: dgamma += dy * xhat, dbeta += dy; returns
    /// (sum(dxhat), sum(dxhat * xhat)).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float SumD, float SumDX) LayerNormGradStats(float* x, float* dy, float* gamma, float mu, float inv,
        float* dgamma, float* dbeta, int n)
    {
        int w = Vector<float>.Count, j = 0;
        var vmu = new Vector<float>(mu);
        var vinv = new Vector<float>(inv);
        Vector<float> sd = default, sdx = default;
        for (; j + w <= n; j += w)
        {
            var xh = (Vector.Load(x + j) - vmu) * vinv;
            var d = Vector.Load(dy + j);
            var dxh = d * Vector.Load(gamma + j);
            Vector.FusedMultiplyAdd(d, xh, Vector.Load(dgamma + j)).Store(dgamma + j);
            (Vector.Load(dbeta + j) + d).Store(dbeta + j);
            sd += dxh;
            sdx = Vector.FusedMultiplyAdd(dxh, xh, sdx);
        }
        float sumD = Vector.Sum(sd), sumDX = Vector.Sum(sdx);
        for (; j < n; j++)
        {
            float xh = (x[j] - mu) * inv, dxh = dy[j] * gamma[j];
            dgamma[j] = MathF.FusedMultiplyAdd(dy[j], xh, dgamma[j]);
            dbeta[j] += dy[j];
            sumD += dxh;
            sumDX = MathF.FusedMultiplyAdd(dxh, xh, sumDX);
        }
        return (sumD, sumDX);
    }

    /// <summary>dx = inv * (dy * gamma - meanD - xhat * meanDX), xhat = (x - mu) * inv.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormGradInput(float* x, float* dy, float* gamma, float mu, float inv, float meanD, float meanDX,
        float* dx, int n)
    {
        int w = Vector<float>.Count, j = 0;
        var vmu = new Vector<float>(mu);
        var vinv = new Vector<float>(inv);
        var vmd = new Vector<float>(meanD);
        var vmdx = new Vector<float>(-meanDX);
        for (; j + w <= n; j += w)
        {
            var xh = (Vector.Load(x + j) - vmu) * vinv;
            var dxh = Vector.Load(dy + j) * Vector.Load(gamma + j);
            ((Vector.FusedMultiplyAdd(xh, vmdx, dxh) - vmd) * vinv).Store(dx + j);
        }
        for (; j < n; j++)
        {
            float xh = (x[j] - mu) * inv;
            dx[j] = (MathF.FusedMultiplyAdd(xh, -meanDX, dy[j] * gamma[j]) - meanD) * inv;
        }
    }
}
