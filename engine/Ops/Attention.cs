using HardFocus.Engine.Autograd;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>
    /// Causal scaled dot-product attention as one fused op: q [batch, heads, seq, headDim] and k, v [batch, kvHeads, seq,
    /// headDim] give softmax(q kᵀ / sqrt(headDim) + causal mask) v. With kvHeads &lt; heads this is grouped-query attention:
    /// each key/value head serves heads / kvHeads consecutive query heads, as if it were repeated that many times, without
    /// the copy. Only each row's logsumexp is saved; backward recomputes the probabilities, so memory stays linear in seq.
    /// </summary>
    public static Tensor CausalAttention(Tensor q, Tensor k, Tensor v)
    {
        var backend = BackendOf(q, k, v);
        if (q.Rank != 4 || k.Rank != 4 || v.Shape != k.Shape || k.Shape[0] != q.Shape[0] || k.Shape[2] != q.Shape[2]
            || k.Shape[3] != q.Shape[3] || k.Shape[1] < 1 || q.Shape[1] % k.Shape[1] != 0)
            throw new ArgumentException($"CausalAttention: q must be [batch, heads, seq, headDim] and k, v one [batch, kvHeads, seq, headDim] shape with kvHeads dividing heads; got {q.Shape}, {k.Shape}, {v.Shape}.");
        int heads = q.Shape[0] * q.Shape[1], group = q.Shape[1] / k.Shape[1], seq = q.Shape[2], headDim = q.Shape[3];
        float scale = 1f / MathF.Sqrt(headDim);
        var output = Tensor.Empty(q.Shape, backend);
        var logSumExp = Tensor.Empty(new Shape(heads, seq), backend);
        backend.CausalAttention(q.Buffer, k.Buffer, v.Buffer, output.Buffer, logSumExp.Buffer, heads, group, seq, headDim, scale);
        Node.Record(output, [q, k, v], gy =>
        {
            var dq = NewGrad(q);
            var dk = NewGrad(k);
            var dv = NewGrad(v);
            backend.CausalAttentionBackward(q.Buffer, k.Buffer, v.Buffer, output.Buffer, logSumExp.Buffer, gy.Buffer,
                dq.Buffer, dk.Buffer, dv.Buffer, heads, group, seq, headDim, scale);
            Deliver(q, dq);
            Deliver(k, dk);
            Deliver(v, dv);
        });
        return output;
    }
}
