using HardFocus.Engine.Autograd;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>The same elements under another shape of equal size; a view, no copy (one dimension may be -1).</summary>
    public static Tensor Reshape(Tensor x, params int[] dims)
    {
        var shape = new Shape(InferDimension(dims, x.Length, x.Shape));
        var y = x.ShareWithShape(shape);
        Node.Record(y, [x], gy =>
        {
            var dx = NewGrad(x);
            x.Backend.Copy(gy.Buffer, dx.Buffer, x.Length);
            x.AccumulateGrad(dx);
        });
        return y;
    }

    /// <summary>[batch, seq, heads * headDim] to [batch, heads, seq, headDim].</summary>
    public static Tensor SplitHeads(Tensor x, int heads)
    {
        if (x.Rank != 3 || heads <= 0 || x.Shape[2] % heads != 0)
            throw new ArgumentException($"SplitHeads: {x.Shape} is not [batch, seq, channels] with channels divisible by {heads}.");
        int b = x.Shape[0], t = x.Shape[1], d = x.Shape[2] / heads;
        return SwapMiddleAxes(x, b, t, heads, d, new Shape(b, heads, t, d));
    }

    /// <summary>[batch, heads, seq, headDim] back to [batch, seq, heads * headDim].</summary>
    public static Tensor MergeHeads(Tensor x)
    {
        if (x.Rank != 4) throw new ArgumentException($"MergeHeads: expected [batch, heads, seq, headDim], got {x.Shape}.");
        int b = x.Shape[0], h = x.Shape[1], t = x.Shape[2], d = x.Shape[3];
        return SwapMiddleAxes(x, b, h, t, d, new Shape(b, t, h * d));
    }

    /// <summary>Treats x as [d0, d1, d2, d3] and swaps axes 1 and 2; the backward is the same swap the other way.</summary>
    private static Tensor SwapMiddleAxes(Tensor x, int d0, int d1, int d2, int d3, Shape outShape)
    {
        var backend = x.Backend;
        var y = Tensor.Empty(outShape, backend);
        backend.SwapAxes12(x.Buffer, y.Buffer, d0, d1, d2, d3);
        Node.Record(y, [x], gy =>
        {
            var dx = NewGrad(x);
            backend.SwapAxes12(gy.Buffer, dx.Buffer, d0, d2, d1, d3);
            x.AccumulateGrad(dx);
        });
        return y;
    }

    private static int[] InferDimension(int[] dims, int size, Shape from)
    {
        var result = (int[])dims.Clone();
        int unknown = Array.IndexOf(result, -1);
        if (unknown >= 0)
        {
            int known = 1;
            for (int i = 0; i < result.Length; i++) if (i != unknown) known *= result[i];
            if (known == 0 || size % known != 0) throw new ArgumentException($"Reshape: cannot view {from} as [{string.Join(", ", dims)}].");
            result[unknown] = size / known;
        }
        return result;
    }
}
