using HardFocus.Engine;
using HardFocus.Engine.Autograd;

namespace HardFocus.Training.Optim;

/// <summary>The global gradient norm and clipping by it, each one launch over the flat gradient buffer of the parameters'
/// <see cref="ParameterArena"/> (gathered here if no optimizer has done it yet). A parameter without a gradient holds zeros
/// there, so it adds nothing to the norm and scaling leaves it at zero.</summary>
public static class GradientClipping
{
    /// <summary>Scales all gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before
    /// clipping.</summary>
    public static float ClipGlobalNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        var arena = ParameterArena.Of(parameters);
        float norm = GlobalNorm(arena);
        if (float.IsFinite(norm) && norm > maxNorm)
        {
            var gradients = arena.Gradients();
            arena.Backend.Affine(gradients, gradients, arena.Length, maxNorm / (norm + 1e-6f), 0f);
        }
        return norm;
    }

    /// <summary>The global L2 norm of all gradients (0 when there are none). It is reduced on the device and only that
    /// one float comes back to the host.</summary>
    public static float GlobalNorm(IEnumerable<Tensor> parameters) => GlobalNorm(ParameterArena.Of(parameters));

    private static float GlobalNorm(ParameterArena arena)
    {
        using (TensorScope.Begin())
        {
            var squares = Tensor.Empty(new Shape(1), arena.Backend);
            arena.Backend.SumOfSquares(arena.Gradients(), squares.Buffer, arena.Length);
            return MathF.Sqrt(squares.Item());
        }
    }
}
