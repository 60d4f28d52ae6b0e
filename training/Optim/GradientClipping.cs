using HardFocus.Engine;
using HardFocus.Engine.Autograd;

namespace HardFocus.Training.Optim;

public static class GradientClipping
{
    /// <summary>Scales all gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before
    /// clipping.</summary>
    public static float ClipGlobalNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        var withGrad = parameters.Where(p => p.Grad != null).ToList();
        float norm = GlobalNorm(withGrad);
        if (float.IsFinite(norm) && norm > maxNorm)
        {
            float scale = maxNorm / (norm + 1e-6f);
            foreach (var p in withGrad) p.Backend.Affine(p.Grad!.Buffer, p.Grad.Buffer, p.Length, scale, 0f);
        }
        return norm;
    }

    /// <summary>The global L2 norm of all gradients (0 when there are none). It is reduced on the device and only that
    /// one float comes back to the host.</summary>
    public static float GlobalNorm(IEnumerable<Tensor> parameters)
    {
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            Tensor? total = null;
            foreach (var p in parameters.Where(p => p.Grad != null))
            {
                var squares = Ops.Sum(p.Grad! * p.Grad!);
                total = total == null ? squares : total + squares;
            }
            return total == null ? 0f : MathF.Sqrt(total.Item());
        }
    }
}
