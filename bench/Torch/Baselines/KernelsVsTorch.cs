using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Rng = HardFocus.Engine.Rng;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using static TorchSharp.torch;

namespace HardFocus.Bench.Torch.Baselines;

/// <summary>
/// HardFocus's fused row and attention kernels against the libtorch ops a PyTorch GPT-2 uses for the same job
/// (TorchSharp, the baseline of each group), at GPT-2 124M widths: 4096 tokens of width 768, softmax over 1024
/// columns, cross-entropy over 512 positions of the 50257-token vocabulary, causal attention of 4 sequences x 12
/// heads x 256 positions x 64. "fwd+bwd" runs the forward and then the backward (libtorch through autograd), since
/// libtorch's backward cannot run without the graph its forward records.
/// </summary>
[Config(typeof(InProcessConfigBase))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class KernelsVsTorch
{
    private const int Tokens = 4096, Width = 768, SoftmaxCols = 1024, CeRows = 512, Vocab = 50257;
    private const int Batch = 4, Heads = 12, Seq = 256, HeadDim = 64;
    private const float Scale = 0.125f;

    private readonly CpuBackend _cpu = new();
    private DeviceBuffer<float> _x = null!, _y = null!, _dy = null!, _dx = null!, _gamma = null!, _beta = null!, _dGamma = null!, _dBeta = null!;
    private DeviceBuffer<float> _mean = null!, _rstd = null!, _scores = null!, _probs = null!, _dScores = null!, _dProbs = null!;
    private DeviceBuffer<float> _logits = null!, _dLogits = null!, _losses = null!, _lse = null!, _dLosses = null!;
    private DeviceBuffer<int> _targets = null!;
    private DeviceBuffer<float> _q = null!, _k = null!, _v = null!, _o = null!, _do = null!, _attLse = null!, _dq = null!, _dk = null!, _dv = null!;

    private Tensor _tx = null!, _tdy = null!, _tgamma = null!, _tbeta = null!, _tscores = null!, _tdprobs = null!;
    private Tensor _tlogits = null!, _ttargets = null!, _tdlosses = null!, _tq = null!, _tk = null!, _tv = null!, _tdo = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        (DeviceBuffer<float>, Tensor) Random(int n, params long[] shape)
        {
            var host = new float[n];
            for (int i = 0; i < n; i++) host[i] = rng.NextGaussian();
            var buffer = _cpu.Allocate<float>(n);
            _cpu.Upload<float>(host, buffer);
            return (buffer, from_array(host).view(shape));
        }
        DeviceBuffer<float> Empty(int n) => _cpu.Allocate<float>(n);

        (_x, _tx) = Random(Tokens * Width, Tokens, Width);
        (_dy, _tdy) = Random(Tokens * Width, Tokens, Width);
        (_gamma, _tgamma) = Random(Width, Width);
        (_beta, _tbeta) = Random(Width, Width);
        _y = Empty(Tokens * Width); _dx = Empty(Tokens * Width); _dGamma = Empty(Width); _dBeta = Empty(Width);
        _mean = Empty(Tokens); _rstd = Empty(Tokens);
        (_scores, _tscores) = Random(Tokens * SoftmaxCols, Tokens, SoftmaxCols);
        (_dProbs, _tdprobs) = Random(Tokens * SoftmaxCols, Tokens, SoftmaxCols);
        _probs = Empty(Tokens * SoftmaxCols); _dScores = Empty(Tokens * SoftmaxCols);
        (_logits, _tlogits) = Random(CeRows * Vocab, CeRows, Vocab);
        (_dLosses, _tdlosses) = Random(CeRows, CeRows);
        _dLogits = Empty(CeRows * Vocab); _losses = Empty(CeRows); _lse = Empty(CeRows);
        var targets = new int[CeRows];
        for (int i = 0; i < CeRows; i++) targets[i] = rng.NextInt(Vocab);
        _targets = _cpu.Allocate<int>(CeRows);
        _cpu.Upload<int>(targets, _targets);
        _ttargets = tensor(targets.Select(t => (long)t).ToArray());
        int qkv = Batch * Heads * Seq * HeadDim;
        (_q, _tq) = Random(qkv, Batch, Heads, Seq, HeadDim);
        (_k, _tk) = Random(qkv, Batch, Heads, Seq, HeadDim);
        (_v, _tv) = Random(qkv, Batch, Heads, Seq, HeadDim);
        (_do, _tdo) = Random(qkv, Batch, Heads, Seq, HeadDim);
        _o = Empty(qkv); _attLse = Empty(Batch * Heads * Seq); _dq = Empty(qkv); _dk = Empty(qkv); _dv = Empty(qkv);
        foreach (var t in new[] { _tx, _tgamma, _tbeta, _tscores, _tlogits, _tq, _tk, _tv }) t.requires_grad_(true);
    }

    // ---- LayerNorm ----
    [Benchmark(Baseline = true, Description = "libtorch"), BenchmarkCategory("layernorm fwd 4096x768")]
    public void TorchLayerNorm()
    {
        using var noGrad = no_grad();
        using var y = nn.functional.layer_norm(_tx, [Width], _tgamma, _tbeta, 1e-5);
    }

    [Benchmark(Description = "hardfocus"), BenchmarkCategory("layernorm fwd 4096x768")]
    public void LayerNorm() => _cpu.LayerNorm(_x, _gamma, _beta, _y, _mean, _rstd, Tokens, Width, 1e-5f);

    [Benchmark(Baseline = true, Description = "libtorch"), BenchmarkCategory("layernorm fwd+bwd 4096x768")]
    public void TorchLayerNormBackward()
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.layer_norm(_tx, [Width], _tgamma, _tbeta, 1e-5);
        autograd.grad([y], [_tx, _tgamma, _tbeta], [_tdy]);
    }

    [Benchmark(Description = "hardfocus"), BenchmarkCategory("layernorm fwd+bwd 4096x768")]
    public void LayerNormBackward()
    {
        _cpu.LayerNorm(_x, _gamma, _beta, _y, _mean, _rstd, Tokens, Width, 1e-5f);
        _cpu.Fill(_dGamma, 0f, Width);
        _cpu.Fill(_dBeta, 0f, Width);
        _cpu.LayerNormBackward(_x, _gamma, _mean, _rstd, _dy, _dx, _dGamma, _dBeta, Tokens, Width);
    }

    // ---- softmax ----
    [Benchmark(Baseline = true, Description = "libtorch"), BenchmarkCategory("softmax fwd 4096x1024")]
    public void TorchSoftmax()
    {
        using var noGrad = no_grad();
        using var y = _tscores.softmax(1);
    }

    [Benchmark(Description = "hardfocus"), BenchmarkCategory("softmax fwd 4096x1024")]
    public void Softmax() => _cpu.Softmax(_scores, _probs, Tokens, SoftmaxCols);

    [Benchmark(Baseline = true, Description = "libtorch"), BenchmarkCategory("softmax fwd+bwd 4096x1024")]
    public void TorchSoftmaxBackward()
    {
        using var scope = NewDisposeScope();
        autograd.grad([_tscores.softmax(1)], [_tscores], [_tdprobs]);
    }

    [Benchmark(Description = "hardfocus"), BenchmarkCategory("softmax fwd+bwd 4096x1024")]
    public void SoftmaxBackward()
    {
        _cpu.Softmax(_scores, _probs, Tokens, SoftmaxCols);
        _cpu.SoftmaxBackward(_probs, _dProbs, _dScores, Tokens, SoftmaxCols);
    }

    // ---- cross-entropy ----
    [Benchmark(Baseline = true, Description = "libtorch"), BenchmarkCategory("cross-entropy fwd 512x50257")]
    public void TorchCrossEntropy()
    {
        using var noGrad = no_grad();
        using var losses = nn.functional.cross_entropy(_tlogits, _ttargets, reduction: nn.Reduction.None);
    }

    [Benchmark(Description = "hardfocus"), BenchmarkCategory("cross-entropy fwd 512x50257")]
    public void CrossEntropy() => _cpu.CrossEntropy(_logits, _targets, null, _losses, _lse, CeRows, Vocab);

    [Benchmark(Baseline = true, Description = "libtorch"), BenchmarkCategory("cross-entropy fwd+bwd 512x50257")]
    public void TorchCrossEntropyBackward()
    {
        using var scope = NewDisposeScope();
        var losses = nn.functional.cross_entropy(_tlogits, _ttargets, reduction: nn.Reduction.None);
        autograd.grad([losses], [_tlogits], [_tdlosses]);
    }

    [Benchmark(Description = "hardfocus"), BenchmarkCategory("cross-entropy fwd+bwd 512x50257")]
    public void CrossEntropyBackward()
    {
        _cpu.CrossEntropy(_logits, _targets, null, _losses, _lse, CeRows, Vocab);
        _cpu.CrossEntropyBackward(_logits, _targets, null, _lse, _dLosses, _dLogits, CeRows, Vocab);
    }

    // ---- causal attention ----
    [Benchmark(Baseline = true, Description = "libtorch"), BenchmarkCategory("attention fwd 4x12x256x64")]
    public void TorchAttention()
    {
        using var noGrad = no_grad();
        using var o = nn.functional.scaled_dot_product_attention(_tq, _tk, _tv, is_casual: true);
    }

    [Benchmark(Description = "hardfocus"), BenchmarkCategory("attention fwd 4x12x256x64")]
    public void Attention() => _cpu.CausalAttention(_q, _k, _v, _o, _attLse, Batch * Heads, 1, Seq, HeadDim, Scale);

    [Benchmark(Baseline = true, Description = "libtorch"), BenchmarkCategory("attention fwd+bwd 4x12x256x64")]
    public void TorchAttentionBackward()
    {
        using var scope = NewDisposeScope();
        var o = nn.functional.scaled_dot_product_attention(_tq, _tk, _tv, is_casual: true);
        autograd.grad([o], [_tq, _tk, _tv], [_tdo]);
    }

    [Benchmark(Description = "hardfocus"), BenchmarkCategory("attention fwd+bwd 4x12x256x64")]
    public void AttentionBackward()
    {
        _cpu.CausalAttention(_q, _k, _v, _o, _attLse, Batch * Heads, 1, Seq, HeadDim, Scale);
        _cpu.CausalAttentionBackward(_q, _k, _v, _o, _attLse, _do, _dq, _dk, _dv, Batch * Heads, 1, Seq, HeadDim, Scale);
    }
}
