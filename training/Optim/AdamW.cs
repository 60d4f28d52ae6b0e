using HardFocus.Engine;
using HardFocus.Engine.Backends;

namespace HardFocus.Training.Optim;

/// <summary>AdamW with PyTorch's defaults (betas 0.9/0.999, eps 1e-8, decoupled weight decay). The parameters are gathered
/// into a <see cref="ParameterArena"/> and the moments laid out like it, so one multi-tensor kernel updates them all.</summary>
public sealed class AdamW : IOptimizer
{
    private readonly (string Name, Tensor Parameter, Tensor M, Tensor V)[] _slots;
    private readonly ParameterArena _arena;
    private readonly ArenaState _m, _v;
    private readonly ChunkTable _everyParameter;

    public AdamW(IEnumerable<(string Name, Tensor Parameter)> parameters, float beta1 = 0.9f, float beta2 = 0.999f,
        float epsilon = 1e-8f, float weightDecay = 0.01f)
    {
        Beta1 = beta1; Beta2 = beta2; Epsilon = epsilon; WeightDecay = weightDecay;
        var named = parameters.ToList();
        _arena = ParameterArena.Of(named.Select(p => p.Parameter));
        _m = _arena.CreateState();
        _v = _arena.CreateState();
        _slots = named.Select(p => (p.Name, p.Parameter, _m.Tensors[_arena.IndexOf(p.Parameter)], _v.Tensors[_arena.IndexOf(p.Parameter)])).ToArray();
        _everyParameter = Chunks(_arena.Parameters);
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
        var step = AdamWStep.Create(learningRate, Beta1, Beta2, Epsilon, WeightDecay, StepCount);
        if (_arena.Parameters.All(p => p.Grad != null))
        {
            Update(_everyParameter, step);
            return;
        }
        // As in PyTorch, a parameter without a gradient is left alone: a table of the others for this step only.
        var withGradient = _arena.Parameters.Where(p => p.Grad != null).ToList();
        if (withGradient.Count == 0) return;
        using var chunks = Chunks(withGradient);
        Update(chunks, step);
    }

    public IReadOnlyList<KeyValuePair<string, Tensor>> State() =>
        _slots.SelectMany(s => new[] { KeyValuePair.Create($"exp_avg.{s.Name}", s.M), KeyValuePair.Create($"exp_avg_sq.{s.Name}", s.V) }).ToList();

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, int stepCount)
    {
        OptimizerState.CopyInto(State(), state);
        StepCount = stepCount;
    }

    private void Update(ChunkTable chunks, AdamWStep step) =>
        _arena.Backend.MultiTensorAdamW(_arena.Values, _arena.Gradients(), _m.Flat, _v.Flat, chunks.Chunks, chunks.Count, step);

    /// <summary>Where each parameter lies in the arena, and whether it decays.</summary>
    private ChunkTable Chunks(IEnumerable<Tensor> parameters) =>
        ChunkTable.Create(_arena.Backend, parameters.Select(p => (_arena.OffsetOf(_arena.IndexOf(p)), p.Length, OptimizerState.Decays(p))));
}
