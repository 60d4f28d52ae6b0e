using HardFocus.Engine.Backends;

namespace HardFocus.Engine;

/// <summary>
/// Every differentiable operation. Each op file holds one family: the forward runs kernels on the inputs' backend
/// and records, right beside it, the closure that maps the output gradient to input gradients. Ops never branch on
/// the backend and never touch host memory.
/// </summary>
public static partial class Ops
{
    /// <summary>The backend all inputs share; mixing devices is a programming error with a clear message.</summary>
    private static IBackend BackendOf(Tensor first, params Tensor?[] others)
    {
        var backend = first.Backend;
        foreach (var t in others)
            if (t != null && !ReferenceEquals(t.Backend, backend))
                throw new ArgumentException($"Tensors live on different backends ({backend.Name} and {t.Backend.Name}).");
        return backend;
    }

    /// <summary>A gradient contribution: owned by no scope, handed to <see cref="Tensor.AccumulateGrad"/> (for a parameter in
    /// an arena, its gradient home, see <see cref="Tensor.NewGradContribution"/>).</summary>
    private static Tensor NewGrad(Tensor like) => like.NewGradContribution();

    private static Tensor ZeroGrad(Tensor like)
    {
        var g = NewGrad(like);
        like.Backend.Fill(g.Buffer, 0f, g.Length);
        return g;
    }

    private static void RequireRankAtLeast(Tensor t, int rank, string op, string what)
    {
        if (t.Rank < rank) throw new ArgumentException($"{op}: {what} needs rank >= {rank}, got {t.Shape}.");
    }
}
