using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>Sum of all elements, shape [1].</summary>
    public static Tensor Sum(Tensor x)
    {
        var backend = x.Backend;
        var y = Tensor.Empty(new Shape(1), backend);
        backend.Sum(x.Buffer, y.Buffer, x.Length);
        Node.Record(y, [x], gy =>
        {
            // Broadcast the upstream scalar without reading it on the host: 0 + gy[0] everywhere.
            var dx = ZeroGrad(x);
            backend.Binary(BinaryOp.Add, dx.Buffer, gy.Buffer, dx.Buffer, x.Length, 1);
            x.AccumulateGrad(dx);
        });
        return y;
    }

    /// <summary>Mean of all elements, shape [1].</summary>
    public static Tensor Mean(Tensor x) => Scale(Sum(x), 1f / Math.Max(1, x.Length));

    /// <summary>Per-row masked mean over the last dimension: sum(mask * x) / sum(mask), 0 for a fully masked row.
    /// With x the per-token losses and mask the real-target positions this is the per-sample loss.</summary>
    public static Tensor MaskedMean(Tensor x, Tensor mask)
    {
        var backend = BackendOf(x, mask);
        if (x.Shape != mask.Shape) throw new ArgumentException($"MaskedMean: mask shape {mask.Shape} differs from {x.Shape}.");
        RequireRankAtLeast(x, 1, nameof(MaskedMean), "x");
        int rows = x.Shape.Rows, cols = x.Shape.Last;
        var outShape = new Shape(x.Shape.Dims[..^1].ToArray());
        var y = Tensor.Empty(outShape, backend);
        backend.MaskedRowMean(x.Buffer, mask.Buffer, y.Buffer, rows, cols);
        Node.Record(y, [x], gy =>
        {
            var dx = NewGrad(x);
            backend.MaskedRowMeanBackward(mask.Buffer, gy.Buffer, dx.Buffer, rows, cols);
            x.AccumulateGrad(dx);
        });
        return y;
    }
}
