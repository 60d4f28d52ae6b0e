using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HardFocus.Engine.Backends.Cpu;

/// <summary>
/// Vectorised exp and the row reductions built on it for softmax-shaped kernels. TensorPrimitives.Exp computes
/// float exp through double and measured about 2x slower here; this float polynomial is within ~1e-7 relative of
/// exp over the whole float range (denormal results, overflow to +inf, exp(-inf) = 0 and NaN propagation included).
/// Written on <see cref="Vector{T}"/> so one code path serves AVX2, AVX-512 and Arm.
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
        // 2^n as two normal powers of two, 2^(n/2) * 2^(n - n/2), so results down in the denormal range
        // (n >= -150) are still rounded correctly. NaN stays NaN through p; the selects give 0 for x < -104
        // (exp(-inf) included, where r is NaN) and +inf past the largest finite result.
        var ni = Vector.ConvertToInt32Native(n);
        var half = Vector.ShiftRightArithmetic(ni, 1);
        var bias = new Vector<int>(127);
        var e = p * Vector.As<int, float>(Vector.ShiftLeft(half + bias, 23)) * Vector.As<int, float>(Vector.ShiftLeft(ni - half + bias, 23));
        e = Vector.ConditionalSelect(Vector.LessThan(x, new Vector<float>(-104f)), Vector<float>.Zero, e);
        return Vector.ConditionalSelect(Vector.GreaterThan(x, new Vector<float>(88.73f)), new Vector<float>(float.PositiveInfinity), e);
    }

    /// <summary>y = factor * exp(x - shift) (y may be x); returns the sum of exp(x - shift).</summary>
    public static float ExpShifted(ReadOnlySpan<float> x, float shift, float factor, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, x.Length);
        ref float px = ref MemoryMarshal.GetReference(x), py = ref MemoryMarshal.GetReference(y);
        var vs = new Vector<float>(shift);
        var vf = new Vector<float>(factor);
        var sum = Vector<float>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var e = Exp(Vector.LoadUnsafe(ref px, (nuint)i) - vs);
            sum += e;
            (e * vf).StoreUnsafe(ref py, (nuint)i);
        }
        if (i < x.Length)
        {
            // The tail goes through the same vector exp, padded with -inf (exp = 0), so every element sees one formula.
            var e = Exp(Tail(x[i..]) - vs);
            sum += e;
            Span<float> tail = stackalloc float[Vector<float>.Count];
            (e * vf).CopyTo(tail);
            tail[..(x.Length - i)].CopyTo(y[i..]);
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
