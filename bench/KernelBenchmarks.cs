using BenchmarkDotNet.Attributes;
using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Bench;

/// <summary>
/// The fused row kernels at GPT-2 (124M) shapes: 8 sequences of 1024 tokens, width 768, 12 heads, vocab 50257
/// (cross-entropy on 1024 positions to keep the logits at 200 MB). Kernels run on preallocated buffers, so the
/// numbers are kernel time alone.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private const int Tokens = 8 * 1024, Width = 768, Vocab = 50257, CeRows = 1024;
    private const int Batch = 8, Heads = 12, Seq = 256, HeadDim = 64;

    private readonly CpuBackend _cpu = new();
    private DeviceBuffer<float> _x = null!, _y = null!, _dy = null!, _dx = null!, _gamma = null!, _beta = null!, _dGamma = null!, _dBeta = null!;
    private DeviceBuffer<float> _mean = null!, _rstd = null!, _scores = null!, _probs = null!;
    private DeviceBuffer<float> _logits = null!, _dLogits = null!, _losses = null!, _lse = null!, _dLosses = null!;
    private DeviceBuffer<int> _targets = null!;
    private DeviceBuffer<float> _q = null!, _k = null!, _v = null!, _o = null!, _attLse = null!, _dq = null!, _dk = null!, _dv = null!;

    private DeviceBuffer<float> Random(int n, Rng rng)
    {
        var host = new float[n];
        for (int i = 0; i < n; i++) host[i] = rng.NextGaussian();
        var buffer = _cpu.Allocate<float>(n);
        _cpu.Upload<float>(host, buffer);
        return buffer;
    }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _x = Random(Tokens * Width, rng); _dy = Random(Tokens * Width, rng);
        _y = _cpu.Allocate<float>(Tokens * Width); _dx = _cpu.Allocate<float>(Tokens * Width);
        _gamma = Random(Width, rng); _beta = Random(Width, rng);
        _dGamma = _cpu.Allocate<float>(Width); _dBeta = _cpu.Allocate<float>(Width);
        _mean = _cpu.Allocate<float>(Tokens); _rstd = _cpu.Allocate<float>(Tokens);
        _scores = Random(Tokens * 1024, rng); _probs = _cpu.Allocate<float>(Tokens * 1024);
        _logits = Random(CeRows * Vocab, rng); _dLogits = _cpu.Allocate<float>(CeRows * Vocab);
        _losses = _cpu.Allocate<float>(CeRows); _lse = _cpu.Allocate<float>(CeRows); _dLosses = Random(CeRows, rng);
        var targets = new int[CeRows];
        for (int i = 0; i < CeRows; i++) targets[i] = rng.NextInt(Vocab);
        _targets = _cpu.Allocate<int>(CeRows);
        _cpu.Upload<int>(targets, _targets);
        int qkv = Batch * Heads * Seq * HeadDim;
        _q = Random(qkv, rng); _k = Random(qkv, rng); _v = Random(qkv, rng);
        _o = _cpu.Allocate<float>(qkv); _attLse = _cpu.Allocate<float>(Batch * Heads * Seq);
        _dq = _cpu.Allocate<float>(qkv); _dk = _cpu.Allocate<float>(qkv); _dv = _cpu.Allocate<float>(qkv);
        _cpu.LayerNorm(_x, _gamma, _beta, _y, _mean, _rstd, Tokens, Width, 1e-5f);
        _cpu.CausalAttention(_q, _k, _v, _o, _attLse, Batch * Heads, 1, Seq, HeadDim, 0.125f);
        _cpu.CrossEntropy(_logits, _targets, null, _losses, _lse, CeRows, Vocab);
    }

    [Benchmark(Description = "layernorm fwd 8192x768")]
    public void LayerNormForward() => _cpu.LayerNorm(_x, _gamma, _beta, _y, _mean, _rstd, Tokens, Width, 1e-5f);

    [Benchmark(Description = "layernorm bwd 8192x768")]
    public void LayerNormBackward() => _cpu.LayerNormBackward(_x, _gamma, _mean, _rstd, _dy, _dx, _dGamma, _dBeta, Tokens, Width);

    [Benchmark(Description = "softmax fwd 8192x1024")]
    public void SoftmaxForward() => _cpu.Softmax(_scores, _probs, Tokens, 1024);

    [Benchmark(Description = "cross-entropy fwd 1024x50257")]
    public void CrossEntropyForward() => _cpu.CrossEntropy(_logits, _targets, null, _losses, _lse, CeRows, Vocab);

    [Benchmark(Description = "cross-entropy bwd 1024x50257")]
    public void CrossEntropyBackward() => _cpu.CrossEntropyBackward(_logits, _targets, null, _lse, _dLosses, _dLogits, CeRows, Vocab);

    [Benchmark(Description = "attention fwd 8x12x256x64")]
    public void AttentionForward() => _cpu.CausalAttention(_q, _k, _v, _o, _attLse, Batch * Heads, 1, Seq, HeadDim, 0.125f);

    [Benchmark(Description = "attention bwd 8x12x256x64")]
    public void AttentionBackward() =>
        _cpu.CausalAttentionBackward(_q, _k, _v, _o, _attLse, _dy, _dq, _dk, _dv, Batch * Heads, 1, Seq, HeadDim, 0.125f);
}
