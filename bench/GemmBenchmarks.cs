using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Bench;

/// <summary>C[M x N] = A[M x K] * op(B); with TransB the weight is stored N x K, as nn.Linear keeps it.</summary>
public sealed record GemmShape(int M, int N, int K, bool TransB = false) : IComparable<GemmShape>, IComparable
{
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => $"{M}x{N}x{K}{(TransB ? " Bt" : "")}";

    // Lets BenchmarkDotNet list the shapes by size rather than alphabetically.
    public int CompareTo(GemmShape? other) => other is null ? 1 : (Flops, TransB).CompareTo((other.Flops, other.TransB));
    public int CompareTo(object? obj) => CompareTo(obj as GemmShape);
}

[Config(typeof(Config))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public unsafe class GemmBenchmarks
{
    // The machine is shared, so besides the mean the best iteration is shown: it is the least disturbed one.
    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(StatisticColumn.Min, new GflopsColumn(best: false), new GflopsColumn(best: true));
    }

    public static IEnumerable<GemmShape> Shapes() =>
    [
        new(256, 256, 256), new(512, 512, 512), new(1024, 1024, 1024),
        new(4096, 3072, 768), // GPT-2 small MLP up-projection: 4096 tokens x 768 -> 3072
        new(4096, 3072, 768, TransB: true),
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    private float* _a, _b, _c;

    [GlobalSetup]
    public void Setup()
    {
        _a = Alloc((long)Shape.M * Shape.K);
        _b = Alloc((long)Shape.K * Shape.N);
        _c = Alloc((long)Shape.M * Shape.N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
        NativeMemory.AlignedFree(_c);
    }

    [Benchmark]
    public void Gemm()
    {
        var s = Shape;
        CpuGemm.Gemm(false, s.TransB, s.M, s.N, s.K, 1f, _a, s.K, _b, s.TransB ? s.K : s.N, 0f, _c, s.N);
    }

    private static float* Alloc(long count)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var rng = new Random(42);
        for (long i = 0; i < count; i++) p[i] = (float)(rng.NextDouble() - 0.5);
        return p;
    }

    /// <summary>Throughput from the mean (or best) time: 2*M*N*K flops per nanosecond is GFLOP/s.</summary>
    private sealed class GflopsColumn(bool best) : IColumn
    {
        public string Id => nameof(GflopsColumn) + (best ? "Best" : "");
        public string ColumnName => best ? "GFLOP/s (best)" : "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => best ? 1 : 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => best ? "2*M*N*K / Min" : "2*M*N*K / Mean";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var stats = summary[benchmarkCase]?.ResultStatistics;
            double ns = stats is null ? 0 : best ? stats.Min : stats.Mean;
            return ns > 0 && benchmarkCase.Parameters["Shape"] is GemmShape s ? (s.Flops / ns).ToString("F1") : "-";
        }
    }
}
