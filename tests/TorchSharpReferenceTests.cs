using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Reweighting;

namespace HardFocus.Tests;

/// <summary>
/// HardFocus against numbers another implementation produced: tests/Fixtures/torchsharp-gpt2 holds a tiny GPT-2 whose
/// weights libtorch drew directly in Hugging Face's layout, a padded and masked batch, and TorchSharp's logits,
/// per-sample losses, IR-DRO weights and gradients for it. Unlike the round trip through our own converter, a layout
/// mistake made the same way in both directions fails here. TorchSharp itself is not needed; the fixture is
/// regenerated with `dotnet run --project bench/Torch -c Release -- fixture`.
/// </summary>
public sealed class TorchSharpReferenceTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "torchsharp-gpt2");

    // The same tolerances as the bench's parity command.
    private const double LossTolerance = 1e-4, GradientTolerance = 1e-3;

    [Fact]
    public void HuggingFaceFileMadeByTorchSharp_GivesTorchSharpsLogitsLossesWeightsAndGradients()
    {
        var reference = Safetensors.Read(Path.Combine(Folder, "reference.safetensors"));
        var config = GptConfig.Load(Path.Combine(Folder, "config.json"));
        using var model = new GptModel(config, new CpuBackend(), seed: 1);
        RunFolder.LoadWeights(Path.Combine(Folder, "model.safetensors"), model);

        var shape = reference["input_ids"].Shape;
        int batch = shape[0], seq = shape[1];
        var ids = reference["input_ids"].Data.Select(v => (int)v).ToArray();
        var targets = reference["targets"].Data.Select(v => (int)v).ToArray();
        var mask = reference["mask"].Data;
        Assert.Contains(0f, mask); // the batch really is padded

        using var scope = TensorScope.Begin();
        var logits = model.Forward(IndexTensor.FromArray(ids, new Shape(batch, seq), model.Backend));
        var perSample = Ops.MaskedMean(Ops.CrossEntropy(logits, IndexTensor.FromArray(targets, new Shape(batch, seq), model.Backend),
            Tensor.FromArray(mask, new Shape(batch, seq), model.Backend)), Tensor.FromArray(mask, new Shape(batch, seq), model.Backend));
        var losses = perSample.ToArray();

        Assert.InRange(RelativeToLargest(logits.ToArray(), reference["logits"].Data), 0, LossTolerance);
        var theirLosses = reference["losses"].Data;
        for (int i = 0; i < batch; i++) Assert.InRange(Math.Abs(losses[i] - theirLosses[i]) / theirLosses[i], 0, LossTolerance);
        var weights = new IrDro(1.0).Weights(losses).Select(w => (float)w).ToArray();
        Assert.InRange(RelativeToLargest(weights, reference["irdro_weights"].Data), 0, LossTolerance);

        perSample.Backward(Tensor.FromArray(weights, perSample.Shape, perSample.Backend));
        var ours = model.NamedParameters().ToDictionary(p => p.Name, p => (p.Parameter.Shape.ToArray(), p.Parameter.Grad!.ToArray()));
        var gradients = HuggingFaceGpt2.FromModel(ours);
        var theirGradients = reference.Entries.Where(e => e.Name.StartsWith("grad.", StringComparison.Ordinal)).ToList();
        Assert.Equal(gradients.Keys.Order(), theirGradients.Select(e => e.Name["grad.".Length..]).Order());
        foreach (var theirs in theirGradients)
        {
            var (gradShape, data) = gradients[theirs.Name["grad.".Length..]];
            Assert.Equal(theirs.Shape, gradShape);
            Assert.True(theirs.Data.Any(v => v != 0f), $"{theirs.Name} is all zeros in the fixture");
            double error = RelativeToLargest(data, theirs.Data);
            Assert.True(error <= GradientTolerance, $"{theirs.Name}: relative error {error:0.0e+0} against TorchSharp");
        }
    }

    /// <summary>Largest |ours - theirs| over the reference's largest magnitude.</summary>
    private static double RelativeToLargest(float[] ours, float[] theirs)
    {
        Assert.Equal(theirs.Length, ours.Length);
        double diff = 0, largest = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs((double)ours[i] - theirs[i]));
            largest = Math.Max(largest, Math.Abs((double)theirs[i]));
        }
        Assert.True(largest > 0);
        return diff / largest;
    }
}
