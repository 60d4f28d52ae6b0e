using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;

namespace HardFocus.Tests;

/// <summary>Pool reuse, determinism, the optimizer kernel and tensor files.</summary>
public class EngineBehaviourTests
{
    /// <summary>A two-layer MLP with layernorm, attention-free but touching most kernels, trained with AdamW.</summary>
    private sealed class TinyNet
    {
        public readonly Tensor W1, B1, Gamma, Beta, W2, Table;
        private readonly (Tensor M, Tensor V)[] _moments;
        private int _step;
        private readonly Tensor[] _parameters;

        public TinyNet(IBackend backend, ulong seed)
        {
            var rng = new Rng(seed);
            Tensor P(params int[] shape) => Tensor.Parameter(Enumerable.Range(0, new Shape(shape).Size).Select(_ => 0.1f * rng.NextGaussian()).ToArray(), new Shape(shape), backend);
            Table = P(11, 8); W1 = P(16, 8); B1 = P(16); W2 = P(11, 16);
            Gamma = Tensor.Parameter(Enumerable.Repeat(1f, 16).ToArray(), new Shape(16), backend);
            Beta = P(16);
            _parameters = [Table, W1, B1, Gamma, Beta, W2];
            _moments = _parameters.Select(p => (Tensor.Persistent(new float[p.Length], p.Shape, backend), Tensor.Persistent(new float[p.Length], p.Shape, backend))).ToArray();
        }

        public float Step(IBackend backend, int[] ids, int[] targets, float[] mask)
        {
            float loss;
            using (var scope = TensorScope.Begin())
            {
                var x = Ops.Embedding(Table, IndexTensor.FromArray(ids, new Shape(2, ids.Length / 2), backend));
                var h = Ops.Gelu(Ops.LayerNorm(Ops.Linear(x, W1, B1), Gamma, Beta));
                h = Ops.Dropout(h, 0.1f, seed: (ulong)_step);
                var logits = Ops.Linear(h, W2);
                var m = Tensor.FromArray(mask, new Shape(2, ids.Length / 2), backend);
                var perSample = Ops.MaskedMean(Ops.CrossEntropy(logits, IndexTensor.FromArray(targets, new Shape(2, ids.Length / 2), backend), m), m);
                var objective = Ops.Mean(perSample);
                objective.Backward();
                loss = objective.Item();
            }
            _step++;
            for (int i = 0; i < _parameters.Length; i++)
            {
                var p = _parameters[i];
                backend.AdamW(p.Buffer, p.Grad!.Buffer, _moments[i].M.Buffer, _moments[i].V.Buffer, p.Length, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, _step);
                p.ZeroGrad();
            }
            return loss;
        }

        public float[] Flatten() => _parameters.SelectMany(p => p.ToArray()).ToArray();
    }

    private static readonly int[] Ids = [1, 4, 2, 7, 3, 3, 9, 0, 5, 6];
    private static readonly int[] Targets = [4, 2, 7, 3, 3, 9, 0, 5, 6, 1];
    private static readonly float[] Mask = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1];

    [Fact]
    public void Pool_ReachesSteadyState_AfterTheFirstStep()
    {
        var backend = new CpuBackend();
        var net = new TinyNet(backend, 1);
        net.Step(backend, Ids, Targets, Mask);
        var afterWarmup = backend.PoolStats;
        for (int i = 0; i < 5; i++) net.Step(backend, Ids, Targets, Mask);
        var afterSteps = backend.PoolStats;
        Assert.Equal(afterWarmup.FreshAllocations, afterSteps.FreshAllocations);
        Assert.True(afterSteps.Rents - afterWarmup.Rents >= 5 * 20, "each step should rent many buffers");
        Assert.Equal(afterSteps.Rents - afterWarmup.Rents, afterSteps.Recycles - afterWarmup.Recycles);
    }

    [Fact]
    public void Training_IsBitwiseDeterministic_AndLearns()
    {
        float[] Run(out float first, out float last)
        {
            var backend = new CpuBackend();
            var net = new TinyNet(backend, 3);
            first = net.Step(backend, Ids, Targets, Mask);
            last = first;
            for (int i = 0; i < 30; i++) last = net.Step(backend, Ids, Targets, Mask);
            return net.Flatten();
        }
        var a = Run(out float firstA, out float lastA);
        var b = Run(out float firstB, out float lastB);
        Assert.Equal(firstA, firstB);
        Assert.Equal(lastA, lastB);
        Assert.Equal(a, b);
        Assert.True(lastA < 0.5f * firstA, $"loss went from {firstA} to {lastA}");
    }

    [Fact]
    public void AdamW_MatchesTheReferenceFormula()
    {
        var backend = new CpuBackend();
        int n = 37; // not a multiple of the vector width
        var rng = new Rng(4);
        float[] p = new float[n], g = new float[n], m = new float[n], v = new float[n];
        for (int i = 0; i < n; i++) { p[i] = rng.NextGaussian(); g[i] = rng.NextGaussian(); m[i] = 0.1f * rng.NextGaussian(); v[i] = 0.1f * rng.NextFloat(); }
        var tp = Tensor.Persistent(p, new Shape(n), backend); var tg = Tensor.Persistent(g, new Shape(n), backend);
        var tm = Tensor.Persistent(m, new Shape(n), backend); var tv = Tensor.Persistent(v, new Shape(n), backend);
        const float lr = 0.01f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
        const int step = 3;
        backend.AdamW(tp.Buffer, tg.Buffer, tm.Buffer, tv.Buffer, n, lr, b1, b2, eps, wd, step);
        float[] rp = tp.ToArray(), rm = tm.ToArray(), rv = tv.ToArray();
        for (int i = 0; i < n; i++)
        {
            double mi = b1 * m[i] + (1 - b1) * g[i], vi = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
            double mhat = mi / (1 - Math.Pow(b1, step)), vhat = vi / (1 - Math.Pow(b2, step));
            double expected = p[i] * (1 - lr * wd) - lr * mhat / (Math.Sqrt(vhat) + eps);
            Assert.Equal(mi, rm[i], 5);
            Assert.Equal(vi, rv[i], 5);
            Assert.Equal(expected, rp[i], 5);
        }
    }

    [Fact]
    public void TensorFile_RoundTripsNamedTensors()
    {
        string dir = Directory.CreateTempSubdirectory("hardfocus-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.safetensors");
            var tensors = new Dictionary<string, Tensor>
            {
                ["wte.weight"] = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 3, 2),
                ["ln.bias"] = Tensor.FromArray([-0.5f], 1),
            };
            TensorFile.Save(path, tensors);
            var loaded = TensorFile.Load(path);
            Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
            foreach (var (name, t) in tensors)
            {
                Assert.Equal(t.Shape, loaded[name].Shape);
                Assert.Equal(t.ToArray(), loaded[name].ToArray());
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
