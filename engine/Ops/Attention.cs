using HardFocus.Engine.Autograd;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>
    /// Causal scaled dot-product attention as one fused op: q, k, v [batch, heads, seq, headDim] give
    /// softmax(q kᵀ / sqrt(headDim) + causal mask) v. Only each row's logsumexp is saved; backward recomputes the
    /// probabilities, so memory stays linear in seq.
    /// </summary>
    public static Tensor CausalAttention(Tensor q, Tensor k, Tensor v)
    {
        var backend = BackendOf(q, k, v);
        if (q.Rank != 4 || k.Shape != q.Shape || v.Shape != q.Shape)
            throw new ArgumentException($"CausalAttention: q, k, v must share one [batch, heads, seq, headDim] shape; got {q.Shape}, {k.Shape}, {v.Shape}.");
        int heads = q.Shape[0] * q.Shape[1], seq = q.Shape[2], headDim = q.Shape[3];
        float scale = 1f / MathF.Sqrt(headDim);
        var output = Tensor.Empty(q.Shape, backend);
        var logSumExp = Tensor.Empty(new Shape(heads, seq), backend);
        backend.CausalAttention(q.Buffer, k.Buffer, v.Buffer, output.Buffer, logSumExp.Buffer, heads, seq, headDim, scale);
        Node.Record(output, [q, k, v], gy =>
        {
            var dq = NewGrad(q);
            var dk = NewGrad(k);
            var dv = NewGrad(v);
            backend.CausalAttentionBackward(q.Buffer, k.Buffer, v.Buffer, output.Buffer, logSumExp.Buffer, gy.Buffer,
                dq.Buffer, dk.Buffer, dv.Buffer, heads, seq, headDim, scale);
            Deliver(q, dq);
            Deliver(k, dk);
            Deliver(v, dv);
        });
        return output;
    }
}
