using HardFocus.Engine.Autograd;

namespace HardFocus.Engine;

public static partial class Ops
{
    /// <summary>LayerNorm over the last dimension with affine gamma/beta ([features] each). Mean and 1/std are
    /// saved per row, so backward is one fused pass.</summary>
    public static Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon = 1e-5f)
    {
        var backend = BackendOf(x, gamma, beta);
        int cols = x.Shape.Last, rows = x.Shape.Rows;
        if (gamma.Length != cols || beta.Length != cols || gamma.Rank != 1 || beta.Rank != 1)
            throw new ArgumentException($"LayerNorm: gamma {gamma.Shape} and beta {beta.Shape} must both be [{cols}].");
        var y = Tensor.Empty(x.Shape, backend);
        var mean = Tensor.Empty(new Shape(rows), backend);
        var rstd = Tensor.Empty(new Shape(rows), backend);
        backend.LayerNorm(x.Buffer, gamma.Buffer, beta.Buffer, y.Buffer, mean.Buffer, rstd.Buffer, rows, cols, epsilon);

        Node.Record(y, [x, gamma, beta], gy =>
        {
            // The kernel always produces all three; unused ones go straight back to the pool.
            var dx = NewGrad(x);
            var dGamma = ZeroGrad(gamma);
            var dBeta = ZeroGrad(beta);
            backend.LayerNormBackward(x.Buffer, gamma.Buffer, mean.Buffer, rstd.Buffer, gy.Buffer, dx.Buffer,
                dGamma.Buffer, dBeta.Buffer, rows, cols);
            Deliver(x, dx);
            Deliver(gamma, dGamma);
            Deliver(beta, dBeta);
        });
        return y;
    }

    /// <summary>RMSNorm over the last dimension (LLaMA's): x / sqrt(mean(x^2) + epsilon) * gamma, no centring and no bias.
    /// 1/rms is saved per row, so backward is one fused pass.</summary>
    public static Tensor RmsNorm(Tensor x, Tensor gamma, float epsilon)
    {
        var backend = BackendOf(x, gamma);
        int cols = x.Shape.Last, rows = x.Shape.Rows;
        if (gamma.Rank != 1 || gamma.Length != cols) throw new ArgumentException($"RmsNorm: gamma {gamma.Shape} must be [{cols}].");
        var y = Tensor.Empty(x.Shape, backend);
        var rstd = Tensor.Empty(new Shape(rows), backend);
        backend.RmsNorm(x.Buffer, gamma.Buffer, y.Buffer, rstd.Buffer, rows, cols, epsilon);

        Node.Record(y, [x, gamma], gy =>
        {
            var dx = NewGrad(x);
            var dGamma = ZeroGrad(gamma);
            backend.RmsNormBackward(x.Buffer, gamma.Buffer, rstd.Buffer, gy.Buffer, dx.Buffer, dGamma.Buffer, rows, cols);
            Deliver(x, dx);
            Deliver(gamma, dGamma);
        });
        return y;
    }

    /// <summary>Softmax over the last dimension.</summary>
    public static Tensor Softmax(Tensor x)
    {
        var backend = x.Backend;
        int cols = x.Shape.Last, rows = x.Shape.Rows;
        var y = Tensor.Empty(x.Shape, backend);
        backend.Softmax(x.Buffer, y.Buffer, rows, cols);
        Node.Record(y, [x], gy =>
        {
            var dx = NewGrad(x);
            backend.SoftmaxBackward(y.Buffer, gy.Buffer, dx.Buffer, rows, cols);
            x.AccumulateGrad(dx);
        });
        return y;
    }

    /// <summary>Hands a computed gradient to <paramref name="target"/> if it wants one, else frees it.</summary>
    private static void Deliver(Tensor target, Tensor grad)
    {
        if (target.RequiresGrad) target.AccumulateGrad(grad);
        else grad.Dispose();
    }
}
