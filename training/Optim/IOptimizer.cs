using HardFocus.Engine;

namespace HardFocus.Training.Optim;

/// <summary>Updates parameters from their gradients; its state round-trips through named tensors for checkpoints.</summary>
public interface IOptimizer
{
    string Name { get; }
    /// <summary>Applies one update with this learning rate to every parameter that has a gradient.</summary>
    void Step(float learningRate);
    int StepCount { get; }
    IReadOnlyList<KeyValuePair<string, Tensor>> State();
    void LoadState(IReadOnlyDictionary<string, Tensor> state, int stepCount);
}

internal static class OptimizerState
{
    /// <summary>Copies saved tensors into the optimizer's own buffers, checking that the names and shapes match.</summary>
    public static void CopyInto(IReadOnlyList<KeyValuePair<string, Tensor>> own, IReadOnlyDictionary<string, Tensor> saved)
    {
        if (saved.Count != own.Count) throw new InvalidDataException($"Optimizer state has {saved.Count} tensors; this model needs {own.Count}.");
        foreach (var (name, tensor) in own)
        {
            if (!saved.TryGetValue(name, out var value)) throw new InvalidDataException($"Optimizer state lacks '{name}'.");
            if (value.Shape != tensor.Shape) throw new InvalidDataException($"Optimizer state '{name}' has shape {value.Shape}, expected {tensor.Shape}.");
            tensor.CopyFrom(value.ToArray());
        }
    }

    /// <summary>Decoupled weight decay goes to matrices and embeddings only; biases and LayerNorm gains keep their scale.</summary>
    public static bool Decays(Tensor parameter) => parameter.Rank >= 2;
}
