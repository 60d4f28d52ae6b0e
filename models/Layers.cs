using HardFocus.Engine;
using HardFocus.Engine.Backends;

namespace HardFocus.Models;

/// <summary>y = x Wᵀ + b with weight [out, in] (PyTorch's layout).</summary>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, Rng rng, float std, IBackend backend, bool bias = true)
    {
        Weight = RegisterParameter("weight", Init.Normal(new Shape(outFeatures, inFeatures), rng, std, backend));
        Bias = bias ? RegisterParameter("bias", Init.Constant(new Shape(outFeatures), 0f, backend)) : null;
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias);
}

public sealed class LayerNorm : Module
{
    private readonly float _epsilon;

    public LayerNorm(int features, IBackend backend, float epsilon = 1e-5f)
    {
        _epsilon = epsilon;
        Weight = RegisterParameter("weight", Init.Constant(new Shape(features), 1f, backend));
        Bias = RegisterParameter("bias", Init.Constant(new Shape(features), 0f, backend));
    }

    public Tensor Weight { get; }
    public Tensor Bias { get; }

    public Tensor Forward(Tensor x) => Ops.LayerNorm(x, Weight, Bias, _epsilon);
}

/// <summary>LLaMA's RMSNorm: a scale ("weight", starting at 1) and no bias.</summary>
public sealed class RmsNorm : Module
{
    private readonly float _epsilon;

    public RmsNorm(int features, float epsilon, IBackend backend)
    {
        _epsilon = epsilon;
        Weight = RegisterParameter("weight", Init.Constant(new Shape(features), 1f, backend));
    }

    public Tensor Weight { get; }

    public Tensor Forward(Tensor x) => Ops.RmsNorm(x, Weight, _epsilon);
}

public sealed class Embedding : Module
{
    public Embedding(int count, int dim, Rng rng, float std, IBackend backend) =>
        Weight = RegisterParameter("weight", Init.Normal(new Shape(count, dim), rng, std, backend));

    public Tensor Weight { get; }

    public Tensor Forward(IndexTensor ids) => Ops.Embedding(Weight, ids);
}

/// <summary>Parameter initialisers; values are drawn on the host so every backend starts from the same numbers.</summary>
public static class Init
{
    public static Tensor Normal(Shape shape, Rng rng, float std, IBackend backend)
    {
        var data = new float[shape.Size];
        for (int i = 0; i < data.Length; i++) data[i] = std * rng.NextGaussian();
        return Tensor.Parameter(data, shape, backend);
    }

    public static Tensor Constant(Shape shape, float value, IBackend backend)
    {
        var data = new float[shape.Size];
        Array.Fill(data, value);
        return Tensor.Parameter(data, shape, backend);
    }
}
