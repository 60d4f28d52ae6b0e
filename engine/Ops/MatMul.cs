using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>
    /// op(a) · op(b) where op transposes the last two dimensions when asked. Shapes: a [..., m, k] and b [k, n]
    /// (b shared: a's leading dimensions fold into m), or a [B..., m, k] and b [B..., k, n] with equal batch dimensions.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        var backend = BackendOf(a, b);
        RequireRankAtLeast(a, 2, nameof(MatMul), "a");
        RequireRankAtLeast(b, 2, nameof(MatMul), "b");
        int aRows = a.Shape[-2], aCols = a.Shape[-1], bRows = b.Shape[-2], bCols = b.Shape[-1];
        int m = transposeA ? aCols : aRows, k = transposeA ? aRows : aCols;
        int kb = transposeB ? bCols : bRows, n = transposeB ? bRows : bCols;
        if (k != kb) throw new ArgumentException($"MatMul: inner dimensions differ: {a.Shape}{(transposeA ? "ᵀ" : "")} · {b.Shape}{(transposeB ? "ᵀ" : "")}.");

        var outDims = a.Shape.ToArray();
        outDims[^2] = m;
        outDims[^1] = n;
        var y = Tensor.Empty(new Shape(outDims), backend);

        if (b.Rank == 2)
        {
            // Shared right operand: a's batch folds into the rows of one big product (only without transposing a,
            // where the rows are contiguous).
            if (transposeA && a.Rank > 2) throw new ArgumentException("MatMul: a batched, transposed a needs a batched b.");
            int rows = a.Length / Math.Max(1, k);
            backend.Gemm(transposeA, transposeB, rows, n, k, 1f, a.Buffer, 0, b.Buffer, 0, 0f, y.Buffer, 0, 1);
            Node.Record(y, [a, b], gy =>
            {
                if (a.RequiresGrad)
                {
                    var da = NewGrad(a);
                    if (transposeA) backend.Gemm(transposeB, true, k, rows, n, 1f, b.Buffer, 0, gy.Buffer, 0, 0f, da.Buffer, 0, 1);
                    else backend.Gemm(false, !transposeB, rows, k, n, 1f, gy.Buffer, 0, b.Buffer, 0, 0f, da.Buffer, 0, 1);
                    a.AccumulateGrad(da);
                }
                if (b.RequiresGrad)
                {
                    var db = NewGrad(b);
                    if (transposeB) backend.Gemm(true, transposeA, n, k, rows, 1f, gy.Buffer, 0, a.Buffer, 0, 0f, db.Buffer, 0, 1);
                    else backend.Gemm(!transposeA, false, k, n, rows, 1f, a.Buffer, 0, gy.Buffer, 0, 0f, db.Buffer, 0, 1);
                    b.AccumulateGrad(db);
                }
            });
            return y;
        }

        if (!a.Shape.Dims[..^2].SequenceEqual(b.Shape.Dims[..^2]))
            throw new ArgumentException($"MatMul: batch dimensions differ: {a.Shape} and {b.Shape}.");
        int batch = a.Length / Math.Max(1, aRows * aCols);
        long sa = (long)aRows * aCols, sb = (long)bRows * bCols, sc = (long)m * n;
        backend.Gemm(transposeA, transposeB, m, n, k, 1f, a.Buffer, sa, b.Buffer, sb, 0f, y.Buffer, sc, batch);
        Node.Record(y, [a, b], gy =>
        {
            if (a.RequiresGrad)
            {
                var da = NewGrad(a);
                if (transposeA) backend.Gemm(transposeB, true, k, m, n, 1f, b.Buffer, sb, gy.Buffer, sc, 0f, da.Buffer, sa, batch);
                else backend.Gemm(false, !transposeB, m, k, n, 1f, gy.Buffer, sc, b.Buffer, sb, 0f, da.Buffer, sa, batch);
                a.AccumulateGrad(da);
            }
            if (b.RequiresGrad)
            {
                var db = NewGrad(b);
                if (transposeB) backend.Gemm(true, transposeA, n, k, m, 1f, gy.Buffer, sc, a.Buffer, sa, 0f, db.Buffer, sb, batch);
                else backend.Gemm(!transposeA, false, k, n, m, 1f, a.Buffer, sa, gy.Buffer, sc, 0f, db.Buffer, sb, batch);
                b.AccumulateGrad(db);
            }
        });
        return y;
    }

    /// <summary>x · Wᵀ + bias with x [..., in], weight [out, in] (PyTorch's layout), bias [out] or null.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var backend = BackendOf(x, weight, bias);
        if (weight.Rank != 2 || x.Shape.Last != weight.Shape[1])
            throw new ArgumentException($"Linear: input {x.Shape} does not match weight {weight.Shape} ([out, in]).");
        int outFeatures = weight.Shape[0], inFeatures = weight.Shape[1];
        if (bias != null && (bias.Rank != 1 || bias.Length != outFeatures))
            throw new ArgumentException($"Linear: bias {bias.Shape} should be [{outFeatures}].");
        int rows = x.Shape.Rows;
        var outDims = x.Shape.ToArray();
        outDims[^1] = outFeatures;
        var y = Tensor.Empty(new Shape(outDims), backend);

        if (bias != null) backend.LinearForward(x.Buffer, weight.Buffer, bias.Buffer, y.Buffer, rows, inFeatures, outFeatures);
        else backend.Gemm(false, true, rows, outFeatures, inFeatures, 1f, x.Buffer, 0, weight.Buffer, 0, 0f, y.Buffer, 0, 1);

        Tensor[] inputs = bias == null ? [x, weight] : [x, weight, bias];
        Node.Record(y, inputs, gy =>
        {
            if (x.RequiresGrad)
            {
                var dx = NewGrad(x);   // dy · W
                backend.Gemm(false, false, rows, inFeatures, outFeatures, 1f, gy.Buffer, 0, weight.Buffer, 0, 0f, dx.Buffer, 0, 1);
                x.AccumulateGrad(dx);
            }
            if (weight.RequiresGrad)
            {
                var dw = NewGrad(weight);   // dyᵀ · x
                backend.Gemm(true, false, outFeatures, inFeatures, rows, 1f, gy.Buffer, 0, x.Buffer, 0, 0f, dw.Buffer, 0, 1);
                weight.AccumulateGrad(dw);
            }
            if (bias != null && bias.RequiresGrad)
            {
                var db = NewGrad(bias);
                backend.SumToPeriod(gy.Buffer, db.Buffer, gy.Length, outFeatures);
                bias.AccumulateGrad(db);
            }
        });
        return y;
    }
}
