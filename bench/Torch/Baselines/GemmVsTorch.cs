using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using HardFocus.Engine.Backends.Cpu;
using static TorchSharp.torch;

namespace HardFocus.Bench.Torch.Baselines;

/// <summary>fp32 GEMM, HardFocus's packed kernel against libtorch's (TorchSharp, the baseline), same threads, same
/// process: squares 256 to 2048, GPT-2 124M's projections for 4096 tokens in both weight layouts, and single rows (one
/// generated token) through the small preset's qkv and MLP down-projection weights.</summary>
[Config(typeof(Config))]
public unsafe class GemmVsTorch
{
    private sealed class Config : InProcessConfigBase
    {
        public Config() => AddColumn(new GflopsColumn());
    }

    public static IEnumerable<GemmShape> Shapes() =>
    [
        new(256, 256, 256), new(512, 512, 512), new(1024, 1024, 1024), new(2048, 2048, 2048),
        new(4096, 768, 768), new(4096, 768, 768, TransB: true),     // attention q, k, v and output projections
        new(4096, 3072, 768), new(4096, 3072, 768, TransB: true),   // MLP up-projection
        new(4096, 768, 3072), new(4096, 768, 3072, TransB: true),   // MLP down-projection
        new(1, 768, 256, TransB: true), new(1, 256, 1024, TransB: true), // one token through the small preset's Linears
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    private float* _a, _b, _c;
    private Tensor _ta = null!, _tb = null!;

    [GlobalSetup]
    public void Setup()
    {
        var s = Shape;
        _a = Alloc((long)s.M * s.K, 1);
        _b = Alloc((long)s.K * s.N, 2);
        _c = (float*)NativeMemory.AlignedAlloc((nuint)((long)s.M * s.N * sizeof(float)), 64);
        _ta = from_array(new ReadOnlySpan<float>(_a, s.M * s.K).ToArray()).view(s.M, s.K);
        // The same values in the layout being measured: [K, N], or [N, K] used through a transposed view.
        var b = from_array(new ReadOnlySpan<float>(_b, s.K * s.N).ToArray());
        _tb = s.TransB ? b.view(s.N, s.K) : b.view(s.K, s.N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
        NativeMemory.AlignedFree(_c);
        _ta.Dispose();
        _tb.Dispose();
    }

    [Benchmark(Baseline = true, Description = "libtorch")]
    public void Torch()
    {
        using var c = Shape.TransB ? _ta.mm(_tb.t()) : _ta.mm(_tb);
    }

    [Benchmark(Description = "hardfocus")]
    public void HardFocus()
    {
        var s = Shape;
        CpuGemm.Gemm(false, s.TransB, s.M, s.N, s.K, 1f, _a, s.K, _b, s.TransB ? s.K : s.N, 0f, _c, s.N);
    }

    private static float* Alloc(long count, int seed)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var rng = new Random(seed);
        for (long i = 0; i < count; i++) p[i] = (float)(rng.NextDouble() - 0.5);
        return p;
    }
}
