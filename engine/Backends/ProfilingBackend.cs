using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace HardFocus.Engine.Backends;

/// <summary>One row of a <see cref="ProfilingBackend"/> table: a kernel (a GEMM per shape), its calls and wall time.</summary>
/// <param name="Flops">Floating-point operations of all the calls, for GEMMs (2mnk per product); 0 elsewhere.</param>
public readonly record struct KernelTime(string Kernel, int Calls, TimeSpan Time, double Flops);

/// <summary>
/// An <see cref="IBackend"/> that forwards every call to another backend and adds the call's wall time to a table
/// keyed by kernel, with GEMMs keyed by transposes and shape, so that a training step breaks down into the kernels
/// it spent its time in. Tensors find their backend through their buffers, so the wrapped backend is made by the
/// wrapper, told to name the wrapper as its buffers' owner (<see cref="Cpu.CpuBackend(IBackend)"/>). Times are
/// exact on the CPU backend, whose kernels finish before they return.
/// </summary>
public sealed class ProfilingBackend : IBackend
{
    private readonly Dictionary<string, (int Calls, long Ticks, double Flops)> _table = [];
    private readonly Lock _gate = new();
    private readonly IBackend _inner;

    /// <param name="createInner">Makes the backend that runs the kernels, given the wrapper that its buffers must name
    /// as their owner.</param>
    public ProfilingBackend(Func<IBackend, IBackend> createInner) => _inner = createInner(this);

    /// <summary>A profiled CPU backend.</summary>
    public static ProfilingBackend Cpu() => new(owner => new Cpu.CpuBackend(owner));

    public string Name => _inner.Name;
    public BufferPoolStats PoolStats => _inner.PoolStats;

    /// <summary>The table so far, most time first.</summary>
    public IReadOnlyList<KernelTime> Snapshot()
    {
        lock (_gate)
            return [.. _table.Select(e => new KernelTime(e.Key, e.Value.Calls, Stopwatch.GetElapsedTime(0, e.Value.Ticks), e.Value.Flops))
                .OrderByDescending(k => k.Time)];
    }

    public void Reset()
    {
        lock (_gate) _table.Clear();
    }

    private void Add(string kernel, long start, double flops = 0)
    {
        long ticks = Stopwatch.GetTimestamp() - start;
        lock (_gate)
        {
            _table.TryGetValue(kernel, out var row);
            _table[kernel] = (row.Calls + 1, row.Ticks + ticks, row.Flops + flops);
        }
    }

    private void Timed(Action call, [CallerMemberName] string kernel = "")
    {
        long start = Stopwatch.GetTimestamp();
        call();
        Add(kernel, start);
    }

    public DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged
    {
        long start = Stopwatch.GetTimestamp();
        var buffer = _inner.Allocate<T>(length);
        Add(nameof(Allocate), start);
        return buffer;
    }

    public void Recycle<T>(DeviceBuffer<T> buffer) where T : unmanaged => _inner.Recycle(buffer);
    public void TrimPool() => Timed(_inner.TrimPool);

    // Spans cannot be captured by a closure, so the two transfers time themselves.
    public void Upload<T>(ReadOnlySpan<T> source, DeviceBuffer<T> destination) where T : unmanaged
    {
        long start = Stopwatch.GetTimestamp();
        _inner.Upload(source, destination);
        Add(nameof(Upload), start);
    }

    public void Download<T>(DeviceBuffer<T> source, Span<T> destination) where T : unmanaged
    {
        long start = Stopwatch.GetTimestamp();
        _inner.Download(source, destination);
        Add(nameof(Download), start);
    }

    public void Fill(DeviceBuffer<float> destination, float value, int count) => Timed(() => _inner.Fill(destination, value, count));
    public void Copy(DeviceBuffer<float> source, DeviceBuffer<float> destination, int count) => Timed(() => _inner.Copy(source, destination, count));

    public void Binary(BinaryOp op, DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> y, int count, int period) =>
        Timed(() => _inner.Binary(op, a, b, y, count, period), $"{nameof(Binary)} {op}");
    public void Affine(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, float scale, float shift) => Timed(() => _inner.Affine(x, y, count, scale, shift));
    public void AxpyAccumulate(float alpha, DeviceBuffer<float> x, DeviceBuffer<float> y, int count) => Timed(() => _inner.AxpyAccumulate(alpha, x, y, count));
    public void SumToPeriod(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, int period) => Timed(() => _inner.SumToPeriod(x, y, count, period));
    public void Sum(DeviceBuffer<float> x, DeviceBuffer<float> y, int count) => Timed(() => _inner.Sum(x, y, count));
    public void SumOfSquares(DeviceBuffer<float> x, DeviceBuffer<float> y, int count) => Timed(() => _inner.SumOfSquares(x, y, count));
    public void Gelu(DeviceBuffer<float> x, DeviceBuffer<float> y, int count) => Timed(() => _inner.Gelu(x, y, count));
    public void GeluBackward(DeviceBuffer<float> x, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int count) => Timed(() => _inner.GeluBackward(x, dy, dx, count));
    public void Dropout(DeviceBuffer<float> x, DeviceBuffer<float> y, DeviceBuffer<float> keep, int count, float p, ulong seed) =>
        Timed(() => _inner.Dropout(x, y, keep, count, p, seed));
    public void SwiGlu(DeviceBuffer<float> gate, DeviceBuffer<float> up, DeviceBuffer<float> y, int count) => Timed(() => _inner.SwiGlu(gate, up, y, count));
    public void SwiGluBackward(DeviceBuffer<float> gate, DeviceBuffer<float> up, DeviceBuffer<float> dy, DeviceBuffer<float> dGate, DeviceBuffer<float> dUp, int count) =>
        Timed(() => _inner.SwiGluBackward(gate, up, dy, dGate, dUp, count));
    public void Rope(DeviceBuffer<float> x, DeviceBuffer<float> cos, DeviceBuffer<float> sin, DeviceBuffer<float> y, int rows, int seq, int half, float sinSign) =>
        Timed(() => _inner.Rope(x, cos, sin, y, rows, seq, half, sinSign));

    /// <summary>Keyed by shape, e.g. "Gemm NT 1024x768x256" (op(A) plain, op(B) transposed) or "... x32" for a batch.</summary>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, DeviceBuffer<float> a, long strideA, DeviceBuffer<float> b, long strideB,
        float beta, DeviceBuffer<float> c, long strideC, int batch)
    {
        long start = Stopwatch.GetTimestamp();
        _inner.Gemm(transA, transB, m, n, k, alpha, a, strideA, b, strideB, beta, c, strideC, batch);
        string kernel = $"Gemm {(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')} {m}x{n}x{k}" + (batch > 1 ? $" x{batch}" : "");
        Add(kernel, start, 2.0 * m * n * k * batch);
    }

    public void LinearForward(DeviceBuffer<float> x, DeviceBuffer<float> weight, DeviceBuffer<float> bias, DeviceBuffer<float> y, int rows, int inFeatures, int outFeatures)
    {
        long start = Stopwatch.GetTimestamp();
        _inner.LinearForward(x, weight, bias, y, rows, inFeatures, outFeatures);
        Add($"Gemm NT {rows}x{outFeatures}x{inFeatures} + bias", start, 2.0 * rows * outFeatures * inFeatures);
    }

    public void Softmax(DeviceBuffer<float> x, DeviceBuffer<float> y, int rows, int cols) => Timed(() => _inner.Softmax(x, y, rows, cols));
    public void SoftmaxBackward(DeviceBuffer<float> y, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int rows, int cols) => Timed(() => _inner.SoftmaxBackward(y, dy, dx, rows, cols));
    public void LayerNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> beta, DeviceBuffer<float> y, DeviceBuffer<float> mean,
        DeviceBuffer<float> rstd, int rows, int cols, float epsilon) => Timed(() => _inner.LayerNorm(x, gamma, beta, y, mean, rstd, rows, cols, epsilon));
    public void LayerNormBackward(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> mean, DeviceBuffer<float> rstd, DeviceBuffer<float> dy,
        DeviceBuffer<float> dx, DeviceBuffer<float> dGammaAccumulate, DeviceBuffer<float> dBetaAccumulate, int rows, int cols) =>
        Timed(() => _inner.LayerNormBackward(x, gamma, mean, rstd, dy, dx, dGammaAccumulate, dBetaAccumulate, rows, cols));
    public void RmsNorm(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> y, DeviceBuffer<float> rstd, int rows, int cols, float epsilon) =>
        Timed(() => _inner.RmsNorm(x, gamma, y, rstd, rows, cols, epsilon));
    public void RmsNormBackward(DeviceBuffer<float> x, DeviceBuffer<float> gamma, DeviceBuffer<float> rstd, DeviceBuffer<float> dy, DeviceBuffer<float> dx,
        DeviceBuffer<float> dGammaAccumulate, int rows, int cols) => Timed(() => _inner.RmsNormBackward(x, gamma, rstd, dy, dx, dGammaAccumulate, rows, cols));
    public void CrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<int> targets, DeviceBuffer<float>? mask, DeviceBuffer<float> losses,
        DeviceBuffer<float> logSumExp, int rows, int vocab) => Timed(() => _inner.CrossEntropy(logits, targets, mask, losses, logSumExp, rows, vocab));
    public void CrossEntropyBackward(DeviceBuffer<float> logits, DeviceBuffer<int> targets, DeviceBuffer<float>? mask, DeviceBuffer<float> logSumExp,
        DeviceBuffer<float> dLosses, DeviceBuffer<float> dLogits, int rows, int vocab) =>
        Timed(() => _inner.CrossEntropyBackward(logits, targets, mask, logSumExp, dLosses, dLogits, rows, vocab));
    public void MaskedRowMean(DeviceBuffer<float> x, DeviceBuffer<float> mask, DeviceBuffer<float> y, int rows, int cols) => Timed(() => _inner.MaskedRowMean(x, mask, y, rows, cols));
    public void MaskedRowMeanBackward(DeviceBuffer<float> mask, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int rows, int cols) =>
        Timed(() => _inner.MaskedRowMeanBackward(mask, dy, dx, rows, cols));

    public void CausalAttention(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output, DeviceBuffer<float> logSumExp,
        int heads, int queriesPerKvHead, int seq, int headDim, float scale) =>
        Timed(() => _inner.CausalAttention(q, k, v, output, logSumExp, heads, queriesPerKvHead, seq, headDim, scale));
    public void CausalAttentionBackward(DeviceBuffer<float> q, DeviceBuffer<float> k, DeviceBuffer<float> v, DeviceBuffer<float> output, DeviceBuffer<float> logSumExp,
        DeviceBuffer<float> dOutput, DeviceBuffer<float> dq, DeviceBuffer<float> dk, DeviceBuffer<float> dv, int heads, int queriesPerKvHead, int seq, int headDim, float scale) =>
        Timed(() => _inner.CausalAttentionBackward(q, k, v, output, logSumExp, dOutput, dq, dk, dv, heads, queriesPerKvHead, seq, headDim, scale));

    public void EmbeddingGather(DeviceBuffer<float> table, DeviceBuffer<int> ids, DeviceBuffer<float> y, int count, int dim) => Timed(() => _inner.EmbeddingGather(table, ids, y, count, dim));
    public void EmbeddingScatterAccumulate(DeviceBuffer<float> dy, DeviceBuffer<int> ids, DeviceBuffer<float> dTable, int count, int dim) =>
        Timed(() => _inner.EmbeddingScatterAccumulate(dy, ids, dTable, count, dim));
    public void SwapAxes12(DeviceBuffer<float> x, DeviceBuffer<float> y, int d0, int d1, int d2, int d3) => Timed(() => _inner.SwapAxes12(x, y, d0, d1, d2, d3));

    public void AdamW(DeviceBuffer<float> parameter, DeviceBuffer<float> gradient, DeviceBuffer<float> firstMoment, DeviceBuffer<float> secondMoment, int count,
        float learningRate, float beta1, float beta2, float epsilon, float weightDecay, int step) =>
        Timed(() => _inner.AdamW(parameter, gradient, firstMoment, secondMoment, count, learningRate, beta1, beta2, epsilon, weightDecay, step));
    public void MultiTensorAdamW(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> firstMoments, DeviceBuffer<float> secondMoments,
        DeviceBuffer<int> chunks, int chunkCount, AdamWStep step) =>
        Timed(() => _inner.MultiTensorAdamW(parameters, gradients, firstMoments, secondMoments, chunks, chunkCount, step));

    public void Dispose() => _inner.Dispose();
}
