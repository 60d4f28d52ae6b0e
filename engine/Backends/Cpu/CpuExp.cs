using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>
/// Vectorised exp and the row reductions built on it for softmax-shaped kernels. TensorPrimitives.Exp computes
/// float exp through double and measured about 2x slower here. This float polynomial is within ~1e-7 relative of
/// exp wherever the result is a normal float; results under float's normal range (x below -87.33) are flushed to 0,
/// which is immaterial next to the row's largest term of 1 (every argument here is shifted by a max or a
/// logsumexp) and about 20% cheaper than scaling into denormals. exp(-inf) = 0, NaN stays NaN, x above 88.37
/// gives +inf. Written on <see cref="Vector{T}"/> so one code path serves AVX2, AVX-512 and Arm.
/// </summary>
internal static class CpuExp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        // exp(x) = 2^n * exp(r) with n = round(x / ln2) and |r| <= ln2 / 2; ln2 is split in two (Cody-Waite) so
        // r stays exact for large n. exp(r) is the Cephes expf polynomial.
        var n = Vector.Round(x * new Vector<float>(1.44269504f));
        var r = Vector.FusedMultiplyAdd(n, new Vector<float>(-0.693359375f), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<float>(2.12194440e-4f), r);
        var p = new Vector<float>(1.9875691500e-4f);
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1.3981999507e-3f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(8.3334519073e-3f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(4.1665795894e-2f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1.6666665459e-1f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(5.0000001201e-1f));
        p = Vector.FusedMultiplyAdd(p, r * r, r) + Vector<float>.One;
        // 2^n built in the exponent field needs -126 <= n <= 127: below, the first select flushes to 0 (and gives
        // exp(-inf) = 0, where r is NaN); above, the second gives +inf. NaN stays NaN through p.
        var e = p * Vector.As<int, float>(Vector.ShiftLeft(Vector.ConvertToInt32Native(n) + new Vector<int>(127), 23));
        e = Vector.ConditionalSelect(Vector.LessThan(x, new Vector<float>(-87.33f)), Vector<float>.Zero, e);
        return Vector.ConditionalSelect(Vector.GreaterThan(x, new Vector<float>(88.37f)), new Vector<float>(float.PositiveInfinity), e);
    }

    /// <summary>y = factor * exp(x - shift) (y may be x); returns the sum of exp(x - shift).</summary>
    public static float ExpShifted(ReadOnlySpan<float> x, float shift, float factor, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, x.Length);
        int n = x.Length, w = Vector<float>.Count;
        if (n < w)
        {
            // Shorter than a vector: the same formula one lane at a time.
            float total = 0f;
            for (int j = 0; j < n; j++)
            {
                float e = Exp(new Vector<float>(x[j] - shift))[0];
                total += e;
                y[j] = e * factor;
            }
            return total;
        }
        ref float px = ref MemoryMarshal.GetReference(x), py = ref MemoryMarshal.GetReference(y);
        var vs = new Vector<float>(shift);
        var vf = new Vector<float>(factor);
        // The last vector is read before the loop can overwrite it (y may be x), and finishes the row overlapping
        // the loop's final vector: the overlapped lanes are written again with identical values and not summed twice.
        var last = Vector.LoadUnsafe(ref px, (nuint)(n - w));
        var sum = Vector<float>.Zero;
        int i = 0;
        for (; i <= n - w; i += w)
        {
            var e = Exp(Vector.LoadUnsafe(ref px, (nuint)i) - vs);
            sum += e;
            (e * vf).StoreUnsafe(ref py, (nuint)i);
        }
        if (i < n)
        {
            var e = Exp(last - vs);
            var fresh = Vector.GreaterThanOrEqual(Vector<int>.Indices, new Vector<int>(i - (n - w)));
            sum += Vector.ConditionalSelect(fresh.As<int, float>(), e, Vector<float>.Zero);
            (e * vf).StoreUnsafe(ref py, (nuint)(n - w));
        }
        return Vector.Sum(sum);
    }

    /// <summary>
    /// log(sum(exp(x))) in one read of x: each lane keeps a running max and a sum of exp(x - max), rescaled when
    /// the max grows, so no exp overflows and a row too long for L1/L2 streams from memory only once.
    /// </summary>
    public static float LogSumExp(ReadOnlySpan<float> x)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        // MinValue rather than -inf: exp(m - mNew) stays defined for lanes that have only seen -inf.
        var m = new Vector<float>(float.MinValue);
        var s = Vector<float>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count) Accumulate(Vector.LoadUnsafe(ref px, (nuint)i), ref m, ref s);
        if (i < x.Length) Accumulate(Tail(x[i..]), ref m, ref s);
        var lanes = m; // a copy, so that indexing lanes does not pin m to memory inside the loop
        float max = float.MinValue;
        for (int l = 0; l < Vector<float>.Count; l++) max = MathF.Max(max, lanes[l]);
        return max + MathF.Log(Vector.Sum(s * Exp(m - new Vector<float>(max))));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(Vector<float> v, ref Vector<float> m, ref Vector<float> s)
    {
        // MaxNative may drop a NaN from the max, but the NaN still reaches s through exp(v - m).
        var mNew = Vector.MaxNative(m, v);
        if (Vector.GreaterThanAny(mNew, m))
        {
            s *= Exp(m - mNew); // rare once the row's large values have been seen
            m = mNew;
        }
        s += Exp(v - m);
    }

    private static Vector<float> Tail(ReadOnlySpan<float> x)
    {
        Span<float> padded = stackalloc float[Vector<float>.Count];
        padded.Fill(float.NegativeInfinity);
        x.CopyTo(padded);
        return new Vector<float>(padded);
    }
}
