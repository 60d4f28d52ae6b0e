using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Data;
using HardFocus.Training.Optim;
using HardFocus.Training.Reweighting;

namespace HardFocus.Bench.Torch;

/// <summary>HardFocus's side: the engine's model loaded from the shared Hugging Face file through the project's
/// own loader, and a training step as the trainer takes it (per-sample losses to the host, weights, backward of
/// sum_i w_i l_i with the weights as constants, AdamW).</summary>
internal sealed class EngineSide : IDisposable
{
    /// <param name="backend">The CPU backend, or a <see cref="ProfilingBackend"/> around it (compare --profile).</param>
    public EngineSide(IDecoderConfig config, string huggingFaceSafetensors, float learningRate, IBackend? backend = null)
    {
        // The seed only fills the weights the file then replaces.
        Model = config.CreateModel(backend ?? CpuBackend.Shared, seed: 1);
        RunFolder.LoadWeights(huggingFaceSafetensors, Model);
        Optimizer = new AdamW(Model.NamedParameters());
        LearningRate = learningRate;
    }

    public DecoderModel Model { get; }
    public AdamW Optimizer { get; }
    public float LearningRate { get; }

    /// <summary>The parts of one forward and backward that parity compares, gradients in Hugging Face's layout.</summary>
    public sealed record Outputs(float[] Logits, float[] Losses, double[] Weights, Dictionary<string, float[]> Gradients);

    /// <summary>Forward, per-sample losses, the reweighter's weights and backward, leaving the gradients in place.</summary>
    public Outputs ForwardBackward(SideBySideBatch batch, IReweighter reweighter)
    {
        using var scope = TensorScope.Begin();
        var (ids, targets, mask) = BatchTensors.Create(batch.Samples, Model);
        var logits = Model.Forward(ids);
        var perSample = Ops.MaskedMean(Ops.CrossEntropy(logits, targets, mask), mask);
        var losses = perSample.ToArray();
        var weights = reweighter.Weights(losses);
        perSample.Backward(Tensor.FromArray(weights.Select(w => (float)w).ToArray(), perSample.Shape, perSample.Backend));
        var ours = Model.NamedParameters().ToDictionary(p => p.Name, p => (Shape: p.Parameter.Shape.ToArray(), Data: p.Parameter.Grad!.ToArray()));
        // GPT-2's Hugging Face layout fuses q, k and v and transposes the Conv1D weights; LLaMA's is the model's own.
        var gradients = (Model is GptModel ? HuggingFaceGpt2.FromModel(ours) : ours).ToDictionary(kv => kv.Key, kv => kv.Value.Data);
        return new Outputs(logits.ToArray(), losses, weights, gradients);
    }

    /// <summary>One whole training step; returns the per-sample losses it trained on.</summary>
    public float[] Step(SideBySideBatch batch, IReweighter reweighter, StepTimer? timer = null)
    {
        float[] losses;
        using (var scope = TensorScope.Begin())
        {
            var (ids, targets, mask) = BatchTensors.Create(batch.Samples, Model);
            var perSample = PerSampleLoss.Compute(Model, ids, targets, mask);
            losses = perSample.ToArray();
            timer?.Lap("forward");
            var weights = reweighter.Weights(losses);
            var seed = Tensor.FromArray(weights.Select(w => (float)w).ToArray(), perSample.Shape, perSample.Backend);
            timer?.Lap("weights");
            perSample.Backward(seed);
            timer?.Lap("backward");
        }
        Optimizer.Step(LearningRate);
        Model.ZeroGrad();
        timer?.Lap("adamw");
        return losses;
    }

    public void Dispose()
    {
        Model.Dispose();
    }
}
