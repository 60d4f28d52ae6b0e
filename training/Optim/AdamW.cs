using HardFocus.Engine;

namespace HardFocus.Training.Optim;

/// <summary>AdamW with PyTorch's defaults (betas 0.9/0.999, eps 1e-8, decoupled weight decay), one fused kernel per parameter.</summary>
public sealed class AdamW : IOptimizer
{
    private readonly (string Name, Tensor Parameter, Tensor M, Tensor V)[] _slots;

    public AdamW(IEnumerable<(string Name, Tensor Parameter)> parameters, float beta1 = 0.9f, float beta2 = 0.999f,
        float epsilon = 1e-8f, float weightDecay = 0.01f)
    {
        Beta1 = beta1; Beta2 = beta2; Epsilon = epsilon; WeightDecay = weightDecay;
        _slots = parameters.Select(p => (p.Name, p.Parameter,
            Zeros(p.Parameter), Zeros(p.Parameter))).ToArray();
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }
    public float WeightDecay { get; }
    public string Name => "adamw";
    public int StepCount { get; private set; }

    public void Step(float learningRate)
    {
        StepCount++;
        foreach (var (_, p, m, v) in _slots)
        {
            if (p.Grad == null) continue;
            float decay = OptimizerState.Decays(p) ? WeightDecay : 0f;
            p.Backend.AdamW(p.Buffer, p.Grad.Buffer, m.Buffer, v.Buffer, p.Length, learningRate, Beta1, Beta2, Epsilon, decay, StepCount);
        }
    }

    public IReadOnlyList<KeyValuePair<string, Tensor>> State() =>
        _slots.SelectMany(s => new[] { KeyValuePair.Create($"exp_avg.{s.Name}", s.M), KeyValuePair.Create($"exp_avg_sq.{s.Name}", s.V) }).ToList();

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, int stepCount)
    {
        OptimizerState.CopyInto(State(), state);
        StepCount = stepCount;
    }

    private static Tensor Zeros(Tensor like) => Tensor.Persistent(new float[like.Length], like.Shape, like.Backend);
}
