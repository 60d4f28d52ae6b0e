using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>a + b, where b has a's shape, a suffix of it (trailing broadcasting) or one element.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor Subtract(Tensor a, Tensor b) => Binary(BinaryOp.Subtract, a, b);
    public static Tensor Multiply(Tensor a, Tensor b) => Binary(BinaryOp.Multiply, a, b);

    private static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        var backend = BackendOf(a, b);
        if (!a.Shape.EndsWith(b.Shape) && b.Length != 1)
            throw new ArgumentException($"{op}: shape {b.Shape} does not broadcast onto {a.Shape} (it must match a's trailing dimensions).");
        int period = b.Length, count = a.Length;
        var y = Tensor.Empty(a.Shape, backend);
        backend.Binary(op, a.Buffer, b.Buffer, y.Buffer, count, period);

        Node.Record(y, [a, b], gy =>
        {
            if (a.RequiresGrad)
            {
                var da = NewGrad(a);
                if (op == BinaryOp.Multiply) backend.Binary(BinaryOp.Multiply, gy.Buffer, b.Buffer, da.Buffer, count, period);
                else backend.Copy(gy.Buffer, da.Buffer, count);
                a.AccumulateGrad(da);
            }
            if (b.RequiresGrad)
            {
                // d/db before the broadcast, then summed over the repeats.
                using var full = Tensor.EmptyUntracked(a.Shape, backend);
                switch (op)
                {
                    case BinaryOp.Add: backend.Copy(gy.Buffer, full.Buffer, count); break;
                    case BinaryOp.Subtract: backend.Affine(gy.Buffer, full.Buffer, count, -1f, 0f); break;
                    default: backend.Binary(BinaryOp.Multiply, gy.Buffer, a.Buffer, full.Buffer, count, count); break;
                }
                var db = NewGrad(b);
                backend.SumToPeriod(full.Buffer, db.Buffer, count, period);
                b.AccumulateGrad(db);
            }
        });
        return y;
    }

    /// <summary>s * x.</summary>
    public static Tensor Scale(Tensor x, float s) => Affine(x, s, 0f);

    /// <summary>x + s.</summary>
    public static Tensor AddScalar(Tensor x, float s) => Affine(x, 1f, s);

    private static Tensor Affine(Tensor x, float scale, float shift)
    {
        var backend = x.Backend;
        var y = Tensor.Empty(x.Shape, backend);
        backend.Affine(x.Buffer, y.Buffer, x.Length, scale, shift);
        Node.Record(y, [x], gy =>
        {
            var dx = NewGrad(x);
            backend.Affine(gy.Buffer, dx.Buffer, x.Length, scale, 0f);
            x.AccumulateGrad(dx);
        });
        return y;
    }

    /// <summary>GELU in GPT-2's tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    public static Tensor Gelu(Tensor x)
    {
        var backend = x.Backend;
        var y = Tensor.Empty(x.Shape, backend);
        backend.Gelu(x.Buffer, y.Buffer, x.Length);
        Node.Record(y, [x], gy =>
        {
            var dx = NewGrad(x);
            backend.GeluBackward(x.Buffer, gy.Buffer, dx.Buffer, x.Length);
            x.AccumulateGrad(dx);
        });
        return y;
    }

    /// <summary>The SwiGLU gate of LLaMA's MLP, fused: silu(gate) * up with silu(g) = g * sigmoid(g); gate and up share a shape.</summary>
    public static Tensor SwiGlu(Tensor gate, Tensor up)
    {
        var backend = BackendOf(gate, up);
        if (gate.Shape != up.Shape) throw new ArgumentException($"SwiGlu: gate {gate.Shape} and up {up.Shape} must share a shape.");
        var y = Tensor.Empty(gate.Shape, backend);
        backend.SwiGlu(gate.Buffer, up.Buffer, y.Buffer, gate.Length);
        Node.Record(y, [gate, up], gy =>
        {
            var dGate = NewGrad(gate);
            var dUp = NewGrad(up);
            backend.SwiGluBackward(gate.Buffer, up.Buffer, gy.Buffer, dGate.Buffer, dUp.Buffer, gate.Length);
            Deliver(gate, dGate);
            Deliver(up, dUp);
        });
        return y;
    }

    /// <summary>Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p). The mask comes
    /// from (seed, element index) alone, so it is reproducible and identical on every backend. p = 0 returns x.</summary>
    public static Tensor Dropout(Tensor x, float p, ulong seed)
    {
        if (p is < 0f or >= 1f) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1), got {p}.");
        if (p == 0f) return x;
        var backend = x.Backend;
        var y = Tensor.Empty(x.Shape, backend);
        var keep = Tensor.Empty(x.Shape, backend);
        backend.Dropout(x.Buffer, y.Buffer, keep.Buffer, x.Length, p, seed);
        Node.Record(y, [x], gy =>
        {
            var dx = NewGrad(x);
            backend.Binary(BinaryOp.Multiply, gy.Buffer, keep.Buffer, dx.Buffer, x.Length, x.Length);
            x.AccumulateGrad(dx);
        });
        return y;
    }
}
