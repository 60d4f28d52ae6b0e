using HardFocus.Engine.Autograd;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>
    /// Rotary position embedding in Hugging Face's rotate-half convention: x [batch, heads, seq, headDim] becomes
    /// x * cos + rotate_half(x) * sin, where rotate_half(x) = (-x[half:], x[:half]) and cos, sin [seq, headDim / 2] hold
    /// the angles of each position (see <see cref="RotaryTable"/>). A rotation's inverse is its transpose, so backward
    /// is the same kernel turning the other way.
    /// </summary>
    public static Tensor Rope(Tensor x, Tensor cos, Tensor sin)
    {
        var backend = BackendOf(x, cos, sin);
        if (x.Rank != 4 || x.Shape[3] % 2 != 0)
            throw new ArgumentException($"Rope: x must be [batch, heads, seq, headDim] with an even headDim, got {x.Shape}.");
        int seq = x.Shape[2], half = x.Shape[3] / 2, rows = x.Shape.Rows;
        var table = new Shape(seq, half);
        if (cos.Shape != table || sin.Shape != table)
            throw new ArgumentException($"Rope: cos {cos.Shape} and sin {sin.Shape} must both be {table} for x {x.Shape}.");
        var y = Tensor.Empty(x.Shape, backend);
        backend.Rope(x.Buffer, cos.Buffer, sin.Buffer, y.Buffer, rows, seq, half, sinSign: 1f);
        Node.Record(y, [x], gy =>
        {
            var dx = NewGrad(x);
            backend.Rope(gy.Buffer, cos.Buffer, sin.Buffer, dx.Buffer, rows, seq, half, sinSign: -1f);
            x.AccumulateGrad(dx);
        });
        return y;
    }
}
