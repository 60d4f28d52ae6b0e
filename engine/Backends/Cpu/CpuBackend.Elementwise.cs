using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace HardFocus.Engine.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    // Below ~32k floats a memory-bound loop finishes faster than the threads wake up.
    private const int ElementGrain = 1 << 15;

    public void Binary(BinaryOp op, DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> y, int count, int period)
    {
        float* pa = P(a), pb = P(b), py = P(y);
        if (period == count || period == 1)
        {
            CpuParallel.For(count, ElementGrain, (s, e) =>
            {
                var x = new ReadOnlySpan<float>(pa + s, e - s);
                var dst = new Span<float>(py + s, e - s);
                if (period == 1) ApplyScalar(op, x, pb[0], dst);
                else ApplySpans(op, x, new ReadOnlySpan<float>(pb + s, e - s), dst);
            });
            return;
        }
        int rows = count / period;
        CpuParallel.For(rows, Math.Max(1, ElementGrain / period), (s, e) =>
        {
            var bRow = new ReadOnlySpan<float>(pb, period);
            for (int r = s; r < e; r++)
                ApplySpans(op, new ReadOnlySpan<float>(pa + (long)r * period, period), bRow, new Span<float>(py + (long)r * period, period));
        });
    }

    private static void ApplySpans(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); break;
            case BinaryOp.Subtract: TensorPrimitives.Subtract(a, b, y); break;
            case BinaryOp.Multiply: TensorPrimitives.Multiply(a, b, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    private static void ApplyScalar(BinaryOp op, ReadOnlySpan<float> a, float b, Span<float> y)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); break;
            case BinaryOp.Subtract: TensorPrimitives.Subtract(a, b, y); break;
            case BinaryOp.Multiply: TensorPrimitives.Multiply(a, b, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    public void Affine(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, float scale, float shift)
    {
        float* px = P(x), py = P(y);
        CpuParallel.For(count, ElementGrain, (s, e) =>
        {
            var dst = new Span<float>(py + s, e - s);
            TensorPrimitives.Multiply(new ReadOnlySpan<float>(px + s, e - s), scale, dst);
            if (shift != 0f) TensorPrimitives.Add(dst, shift, dst);
        });
    }

    public void AxpyAccumulate(float alpha, DeviceBuffer<float> x, DeviceBuffer<float> y, int count)
    {
        float* px = P(x), py = P(y);
        CpuParallel.For(count, ElementGrain, (s, e) =>
        {
            var dst = new Span<float>(py + s, e - s);
            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(px + s, e - s), alpha, dst, dst);
        });
    }

    public void SumToPeriod(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, int period)
    {
        float* px = P(x), py = P(y);
        int rows = count / period;
        // Each worker owns a band of columns and walks every row, so no partial sums need merging. Four rows are added
        // per pass, so the band's running sums are loaded and stored a quarter as often (this is the bias gradient of
        // every Linear, a few percent of a small model's step).
        CpuParallel.For(period, Math.Max(16, ElementGrain / Math.Max(1, rows)), (s, e) =>
        {
            int width = e - s, w = Vector<float>.Count;
            new Span<float>(py + s, width).Clear();
            int r = 0;
            for (; r + 4 <= rows; r += 4)
            {
                float* r0 = px + (long)r * period + s, r1 = r0 + period, r2 = r1 + period, r3 = r2 + period, acc = py + s;
                int j = 0;
                for (; j <= width - w; j += w)
                    (Vector.Load(acc + j) + ((Vector.Load(r0 + j) + Vector.Load(r1 + j)) + (Vector.Load(r2 + j) + Vector.Load(r3 + j)))).Store(acc + j);
                for (; j < width; j++) acc[j] += (r0[j] + r1[j]) + (r2[j] + r3[j]);
            }
            for (; r < rows; r++)
                TensorPrimitives.Add(new ReadOnlySpan<float>(py + s, width), new ReadOnlySpan<float>(px + (long)r * period + s, width), new Span<float>(py + s, width));
        });
    }

    public void Sum(DeviceBuffer<float> x, DeviceBuffer<float> y, int count) => P(y)[0] = (float)BlockedSum(P(x), count, squares: false);

    public void SumOfSquares(DeviceBuffer<float> x, DeviceBuffer<float> y, int count) => P(y)[0] = (float)BlockedSum(P(x), count, squares: true);

    /// <summary>Float SIMD sums over short blocks, double across blocks: fast and accurate for millions of terms.</summary>
    private static double BlockedSum(float* x, int count, bool squares)
    {
        const int block = 4096;
        double total = 0;
        for (long s = 0; s < count; s += block)
        {
            var span = new ReadOnlySpan<float>(x + s, (int)Math.Min(block, count - s));
            total += squares ? TensorPrimitives.SumOfSquares(span) : TensorPrimitives.Sum(span);
        }
        return total;
    }

    // GELU (tanh form) = x * sigmoid(2u), with the constants of GeluConstants, one vector at a time in a single pass
    // (sigmoid through CpuExp): the earlier six TensorPrimitives passes per chunk and a scalar derivative loop made
    // the GELU backward about 5% of a small-preset training step's CPU time.
    public void Gelu(DeviceBuffer<float> x, DeviceBuffer<float> y, int count)
    {
        float* px = P(x), py = P(y);
        CpuParallel.For(count, ElementGrain, (s, e) =>
        {
            int i = s;
            for (; i <= e - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = Vector.Load(px + i);
                (v * GeluSigmoid(v)).Store(py + i);
            }
            for (; i < e; i++) py[i] = px[i] * GeluSigmoid(new Vector<float>(px[i]))[0];
        });
    }

    public void GeluBackward(DeviceBuffer<float> x, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int count)
    {
        float* px = P(x), pdy = P(dy), pdx = P(dx);
        CpuParallel.For(count, ElementGrain, (s, e) =>
        {
            int i = s;
            for (; i <= e - Vector<float>.Count; i += Vector<float>.Count)
                GeluDerivative(Vector.Load(px + i), Vector.Load(pdy + i)).Store(pdx + i);
            for (; i < e; i++) pdx[i] = GeluDerivative(new Vector<float>(px[i]), new Vector<float>(pdy[i]))[0];
        });
    }

    /// <summary>sigmoid(2u) = 1 / (1 + exp(-2u)) with 2u = 2 sqrt(2/pi) (x + 0.044715 x^3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> GeluSigmoid(Vector<float> x)
    {
        var twoU = x * Vector.FusedMultiplyAdd(x * x, new Vector<float>(GeluConstants.TwoSqrtTwoOverPi * GeluConstants.Cubic),
            new Vector<float>(GeluConstants.TwoSqrtTwoOverPi));
        return Vector<float>.One / (Vector<float>.One + CpuExp.Exp(-twoU));
    }

    /// <summary>dy * d/dx [x s(2u)] = dy (s + x s (1 - s) 2u').</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> GeluDerivative(Vector<float> x, Vector<float> dy)
    {
        var sig = GeluSigmoid(x);
        var du = Vector.FusedMultiplyAdd(x * x, new Vector<float>(GeluConstants.TwoSqrtTwoOverPi * GeluConstants.CubicSlope),
            new Vector<float>(GeluConstants.TwoSqrtTwoOverPi));
        return dy * Vector.FusedMultiplyAdd(x * sig * (Vector<float>.One - sig), du, sig);
    }

    public void Dropout(DeviceBuffer<float> x, DeviceBuffer<float> y, DeviceBuffer<float> keep, int count, float p, ulong seed)
    {
        float* px = P(x), py = P(y), pk = P(keep);
        float scale = 1f / (1f - p);
        CpuParallel.For(count, ElementGrain, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float k = DropoutHash.Uniform(seed, i) >= p ? scale : 0f;
                pk[i] = k;
                py[i] = px[i] * k;
            }
        });
    }

    // SwiGLU runs in blocks of SwiGluChunk elements, so its vectorised passes over a block read it from L1 rather
    // than streaming the whole range through memory several times.
    private const int SwiGluChunk = 1024;

    public void SwiGlu(DeviceBuffer<float> gate, DeviceBuffer<float> up, DeviceBuffer<float> y, int count)
    {
        float* pg = P(gate), pu = P(up), py = P(y);
        CpuParallel.For(count, ElementGrain, (s, e) =>
        {
            for (int i = s; i < e; i += SwiGluChunk)
            {
                int n = Math.Min(SwiGluChunk, e - i);
                var g = new ReadOnlySpan<float>(pg + i, n);
                var dst = new Span<float>(py + i, n);
                TensorPrimitives.Sigmoid(g, dst);
                TensorPrimitives.Multiply(dst, g, dst);
                TensorPrimitives.Multiply(dst, new ReadOnlySpan<float>(pu + i, n), dst);
            }
        });
    }

    public void SwiGluBackward(DeviceBuffer<float> gate, DeviceBuffer<float> up, DeviceBuffer<float> dy, DeviceBuffer<float> dGate,
        DeviceBuffer<float> dUp, int count)
    {
        float* pg = P(gate), pu = P(up), pdy = P(dy), pdg = P(dGate), pdu = P(dUp);
        CpuParallel.For(count, ElementGrain, (s, e) =>
        {
            Span<float> sig = stackalloc float[SwiGluChunk];
            Span<float> silu = stackalloc float[SwiGluChunk];
            for (int i = s; i < e; i += SwiGluChunk)
            {
                int n = Math.Min(SwiGluChunk, e - i);
                var g = new ReadOnlySpan<float>(pg + i, n);
                var d = new ReadOnlySpan<float>(pdy + i, n);
                var sg = sig[..n];
                var sl = silu[..n];
                TensorPrimitives.Sigmoid(g, sg);
                TensorPrimitives.Multiply(g, sg, sl);
                // dUp = dy * silu(g)
                TensorPrimitives.Multiply(d, sl, new Span<float>(pdu + i, n));
                // dGate = dy * up * silu'(g), silu'(g) = s + g s (1 - s) = silu (1 - s) + s
                var dg = new Span<float>(pdg + i, n);
                TensorPrimitives.Subtract(1f, sg, dg);
                TensorPrimitives.FusedMultiplyAdd(sl, dg, sg, dg);
                TensorPrimitives.Multiply(dg, d, dg);
                TensorPrimitives.Multiply(dg, new ReadOnlySpan<float>(pu + i, n), dg);
            }
        });
    }
}
