using BenchmarkDotNet.Attributes;
using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Bench;

/// <summary>
/// The LLaMA family's kernels at SmolLM2-135M's shapes: 8 sequences of 1024 tokens, width 576, MLP 1536, 9 query heads
/// sharing 3 key/value heads of size 64 (attention on 256 positions, as <see cref="KernelBenchmarks"/> does). Kernels run
/// on preallocated buffers, so the numbers are kernel time alone.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class LlamaKernelBenchmarks
{
    private const int Tokens = 8 * 1024, Width = 576, Mlp = 1536, HeadDim = 64, Heads = 9, KvHeads = 3, Batch = 8, Seq = 256;

    private readonly CpuBackend _cpu = new();
    private DeviceBuffer<float> _x = null!, _y = null!, _dy = null!, _dx = null!, _gamma = null!, _dGamma = null!, _rstd = null!;
    private DeviceBuffer<float> _gate = null!, _up = null!, _act = null!, _dAct = null!, _dGate = null!, _dUp = null!;
    private DeviceBuffer<float> _heads = null!, _rotated = null!, _cos = null!, _sin = null!;
    private DeviceBuffer<float> _q = null!, _k = null!, _v = null!, _o = null!, _lse = null!, _dO = null!, _dq = null!, _dk = null!, _dv = null!;

    private DeviceBuffer<float> Upload(float[] host)
    {
        var buffer = _cpu.Allocate<float>(host.Length);
        _cpu.Upload<float>(host, buffer);
        return buffer;
    }

    private DeviceBuffer<float> Random(int n, Rng rng) => Upload(Enumerable.Range(0, n).Select(_ => rng.NextGaussian()).ToArray());

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _x = Random(Tokens * Width, rng); _dy = Random(Tokens * Width, rng); _gamma = Random(Width, rng);
        _y = _cpu.Allocate<float>(Tokens * Width); _dx = _cpu.Allocate<float>(Tokens * Width);
        _dGamma = _cpu.Allocate<float>(Width); _rstd = _cpu.Allocate<float>(Tokens);
        _gate = Random(Tokens * Mlp, rng); _up = Random(Tokens * Mlp, rng); _dAct = Random(Tokens * Mlp, rng);
        _act = _cpu.Allocate<float>(Tokens * Mlp); _dGate = _cpu.Allocate<float>(Tokens * Mlp); _dUp = _cpu.Allocate<float>(Tokens * Mlp);
        // RoPE on the query heads of all 8192 positions: 8 x 9 heads x 1024 rows of 64.
        _heads = Random(Tokens * Heads * HeadDim, rng); _rotated = _cpu.Allocate<float>(Tokens * Heads * HeadDim);
        var (cos, sin) = RotaryTable.Compute(0, 1024, HeadDim, 100000f);
        _cos = Upload(cos); _sin = Upload(sin);
        int q = Batch * Heads * Seq * HeadDim, kv = Batch * KvHeads * Seq * HeadDim;
        _q = Random(q, rng); _k = Random(kv, rng); _v = Random(kv, rng); _dO = Random(q, rng);
        _o = _cpu.Allocate<float>(q); _lse = _cpu.Allocate<float>(Batch * Heads * Seq);
        _dq = _cpu.Allocate<float>(q); _dk = _cpu.Allocate<float>(kv); _dv = _cpu.Allocate<float>(kv);
        _cpu.RmsNorm(_x, _gamma, _y, _rstd, Tokens, Width, 1e-5f);
        _cpu.CausalAttention(_q, _k, _v, _o, _lse, Batch * Heads, Heads / KvHeads, Seq, HeadDim, 0.125f);
    }

    [Benchmark(Description = "rmsnorm fwd 8192x576")]
    public void RmsNormForward() => _cpu.RmsNorm(_x, _gamma, _y, _rstd, Tokens, Width, 1e-5f);

    [Benchmark(Description = "rmsnorm bwd 8192x576")]
    public void RmsNormBackward() => _cpu.RmsNormBackward(_x, _gamma, _rstd, _dy, _dx, _dGamma, Tokens, Width);

    [Benchmark(Description = "swiglu fwd 8192x1536")]
    public void SwiGluForward() => _cpu.SwiGlu(_gate, _up, _act, Tokens * Mlp);

    [Benchmark(Description = "swiglu bwd 8192x1536")]
    public void SwiGluBackward() => _cpu.SwiGluBackward(_gate, _up, _dAct, _dGate, _dUp, Tokens * Mlp);

    [Benchmark(Description = "rope 8x9x1024x64")]
    public void Rope() => _cpu.Rope(_heads, _cos, _sin, _rotated, Tokens * Heads, 1024, HeadDim / 2, 1f);

    [Benchmark(Description = "gqa attention fwd 8x9(3)x256x64")]
    public void AttentionForward() => _cpu.CausalAttention(_q, _k, _v, _o, _lse, Batch * Heads, Heads / KvHeads, Seq, HeadDim, 0.125f);

    [Benchmark(Description = "gqa attention bwd 8x9(3)x256x64")]
    public void AttentionBackward() =>
        _cpu.CausalAttentionBackward(_q, _k, _v, _o, _lse, _dO, _dq, _dk, _dv, Batch * Heads, Heads / KvHeads, Seq, HeadDim, 0.125f);
}
