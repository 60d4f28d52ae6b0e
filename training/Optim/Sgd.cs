using HardFocus.Engine;

namespace HardFocus.Training.Optim;

/// <summary>SGD with optional heavy-ball momentum (PyTorch's form: buf = mu buf + g; p -= lr buf) and decoupled decay.</summary>
public sealed class Sgd : IOptimizer
{
    private readonly (string Name, Tensor Parameter, Tensor? Buffer)[] _slots;

    public Sgd(IEnumerable<(string Name, Tensor Parameter)> parameters, float momentum = 0f, float weightDecay = 0f)
    {
        Momentum = momentum;
        WeightDecay = weightDecay;
        _slots = parameters.Select(p => (p.Name, p.Parameter,
            momentum == 0f ? null : Tensor.Persistent(new float[p.Parameter.Length], p.Parameter.Shape, p.Parameter.Backend))).ToArray();
    }

    public float Momentum { get; }
    public float WeightDecay { get; }
    public string Name => "sgd";
    public int StepCount { get; private set; }

    public void Step(float learningRate)
    {
        StepCount++;
        foreach (var (_, p, buf) in _slots)
        {
            if (p.Grad == null) continue;
            var backend = p.Backend;
            if (WeightDecay != 0f && OptimizerState.Decays(p)) backend.Affine(p.Buffer, p.Buffer, p.Length, 1f - learningRate * WeightDecay, 0f);
            var direction = p.Grad;
            if (buf != null)
            {
                backend.Affine(buf.Buffer, buf.Buffer, p.Length, Momentum, 0f);
                backend.AxpyAccumulate(1f, p.Grad.Buffer, buf.Buffer, p.Length);
                direction = buf;
            }
            backend.AxpyAccumulate(-learningRate, direction.Buffer, p.Buffer, p.Length);
        }
    }

    public IReadOnlyList<KeyValuePair<string, Tensor>> State() =>
        _slots.Where(s => s.Buffer != null).Select(s => KeyValuePair.Create($"momentum.{s.Name}", s.Buffer!)).ToList();

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, int stepCount)
    {
        OptimizerState.CopyInto(State(), state);
        StepCount = stepCount;
    }
}
