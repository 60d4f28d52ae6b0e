using HardFocus.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace HardFocus.Bench.Torch;

/// <summary>TorchSharp's side: <see cref="TorchGpt"/> or <see cref="TorchLlama"/> trained with torch.optim.AdamW (PyTorch's defaults, weight decay
/// 0.01 on matrices and embeddings only, as HardFocus does) and the reweighting written with torch ops.</summary>
internal sealed class TorchSide : IDisposable
{
    private readonly TorchSharp.Modules.AdamW _optimizer;

    public TorchSide(IDecoderConfig config, string huggingFaceSafetensors, float learningRate)
    {
        Model = SharedWeights.TorchModel(config, huggingFaceSafetensors);
        var decayed = Model.Parameters.Values.Where(p => p.dim() >= 2).ToList();
        var plain = Model.Parameters.Values.Where(p => p.dim() < 2).ToList();
        _optimizer = optim.AdamW(
            [new TorchSharp.Modules.AdamW.ParamGroup(decayed, learningRate, 0.9, 0.999, 1e-8, 0.01, false, false),
             new TorchSharp.Modules.AdamW.ParamGroup(plain, learningRate, 0.9, 0.999, 1e-8, 0.0, false, false)],
            learningRate);
    }

    public ITorchDecoder Model { get; }

    /// <summary>The reweighting rule, in torch ops on the detached losses.</summary>
    public enum Weighting { Erm, IrDro, MidRanking }

    public sealed record Outputs(float[] Logits, float[] Losses, float[] IrDroWeights, float[] MidRankingWeights, Dictionary<string, float[]> Gradients);

    /// <summary>Forward, per-sample losses, both reweighters' weights, and backward of the IR-DRO objective.</summary>
    public Outputs ForwardBackward(SideBySideBatch batch, double lambda, double fraction, int portion)
    {
        using var scope = NewDisposeScope();
        var (ids, targets, mask) = Tensors(batch);
        var logits = Model.Forward(ids);
        var losses = TorchGpt.PerSampleLoss(logits, targets, mask);
        var irdro = IrDroWeights(losses.detach(), lambda);
        var midrank = MidRankingWeights(losses.detach(), fraction, portion);
        (irdro * losses).sum().backward();
        var gradients = Model.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value.grad!.data<float>().ToArray());
        foreach (var p in Model.Parameters.Values) p.grad!.zero_();
        return new Outputs(logits.data<float>().ToArray(), losses.data<float>().ToArray(), irdro.data<float>().ToArray(),
            midrank.data<float>().ToArray(), gradients);
    }

    /// <summary>One whole training step on the IR-DRO objective; returns the per-sample losses it trained on.</summary>
    public float[] Step(SideBySideBatch batch, double lambda, StepTimer? timer = null)
    {
        using var scope = NewDisposeScope();
        var (ids, targets, mask) = Tensors(batch);
        var losses = TorchGpt.PerSampleLoss(Model.Forward(ids), targets, mask);
        // Like HardFocus, the losses come to the host: the trainer logs them and a pool may span several batches.
        var host = losses.data<float>().ToArray();
        timer?.Lap("forward");
        var objective = (IrDroWeights(losses.detach(), lambda) * losses).sum();
        timer?.Lap("weights");
        objective.backward();
        timer?.Lap("backward");
        _optimizer.step();
        _optimizer.zero_grad();
        timer?.Lap("adamw");
        return host;
    }

    /// <summary>softmax(l / lambda), the closed form of the KL-regularised worst case over the simplex.</summary>
    public static Tensor IrDroWeights(Tensor losses, double lambda) => softmax(losses / lambda, 0);

    /// <summary>Ranks by loss, hardest first; the block of cap = max(1, floor(frac n)) from rank portion * cap shares
    /// the weight equally.</summary>
    public static Tensor MidRankingWeights(Tensor losses, double fraction, int portion)
    {
        long n = losses.shape[0];
        long cap = Math.Max(1, (long)Math.Floor(fraction * n));
        long start = portion * cap, end = Math.Min(n, start + cap);
        var order = argsort(losses, descending: true);
        var weights = zeros(n);
        weights.index_put_(full(end - start, 1.0f / (end - start)), order.slice(0, start, end, 1));
        return weights;
    }

    private static (Tensor Ids, Tensor Targets, Tensor Mask) Tensors(SideBySideBatch batch) =>
        (tensor(batch.Ids.Select(i => (long)i).ToArray(), [batch.Batch, batch.Seq]),
         tensor(batch.Targets.Select(i => (long)i).ToArray(), [batch.Batch, batch.Seq]),
         tensor(batch.Mask, [batch.Batch, batch.Seq]));

    public void Dispose()
    {
        _optimizer.Dispose();
        Model.Dispose();
    }
}
