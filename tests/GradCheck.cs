using HardFocus.Engine;
using HardFocus.Engine.Autograd;

namespace HardFocus.Tests;

/// <summary>
/// Central finite differences of the scalar probe sum(f(inputs) * r) for a fixed random r, with the probe summed
/// in double on the host, against the gradients reverse mode produced for Backward(r).
/// </summary>
internal static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, ulong seed = 1, float step = 1e-2f,
        double absTol = 2e-3, double relTol = 2e-2, int maxProbesPerInput = 48)
    {
        var rng = new Rng(seed);
        Tensor probe;
        foreach (var x in inputs) { x.ZeroGrad(); x.RequiresGrad = true; }
        using (TensorScope.Begin())
        {
            var y = f(inputs);
            var r = new float[y.Length];
            for (int i = 0; i < r.Length; i++) r[i] = rng.NextGaussian();
            probe = Tensor.Parameter(r, y.Shape);
            probe.RequiresGrad = false;
            y.Backward(probe);
        }
        var weights = probe.ToArray();

        double Objective()
        {
            using var _ = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            var y = f(inputs).ToArray();
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += (double)y[i] * weights[i];
            return sum;
        }

        for (int n = 0; n < inputs.Length; n++)
        {
            var x = inputs[n];
            var analytic = x.Grad?.ToArray() ?? new float[x.Length];
            var values = x.ToArray();
            int probes = Math.Min(x.Length, maxProbesPerInput);
            for (int p = 0; p < probes; p++)
            {
                int i = x.Length <= maxProbesPerInput ? p : rng.NextInt(x.Length);
                float original = values[i];
                values[i] = original + step; x.CopyFrom(values);
                double plus = Objective();
                values[i] = original - step; x.CopyFrom(values);
                double minus = Objective();
                values[i] = original; x.CopyFrom(values);
                double numeric = (plus - minus) / (2 * step);
                double error = Math.Abs(analytic[i] - numeric);
                Assert.True(error <= absTol + relTol * Math.Abs(numeric),
                    $"input {n} element {i}: analytic {analytic[i]:G6} vs numeric {numeric:G6}");
            }
        }
        probe.Dispose();
    }

    public static Tensor Random(Rng rng, params int[] shape)
    {
        var data = new float[new Shape(shape).Size];
        for (int i = 0; i < data.Length; i++) data[i] = rng.NextGaussian();
        return Tensor.Parameter(data, new Shape(shape));
    }
}
