using System.Diagnostics;
using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Ilgpu;

namespace HardFocus.Bench.GpuCheck;

/// <summary>
/// TFLOP/s of <see cref="IBackend.Gemm"/> on a CUDA device along each path <see cref="IlgpuBackend"/> can take: its own
/// ILGPU kernel, cuBLAS in fp32 and cuBLAS on TF32 tensor cores. Shapes: 4096^3, and GPT-2's matrix products for 4096
/// tokens in a linear layer's forward layout (x times the transposed weight). Each path also reports how far a sample of its
/// C lies from the ILGPU kernel's, which checks the kernel's GPU-sized tiles and the cuBLAS mapping on the device itself.
/// </summary>
internal static class GemmThroughput
{
    private const int Tokens = 4096;
    /// <summary>Timed calls run for about this long, after one untimed call that compiles and warms up.</summary>
    private const double TimedSeconds = 0.5;
    /// <summary>Every this-many-th element of C is compared between paths.</summary>
    private const int SampleStep = 997;

    private sealed record Shape(string Name, int M, int N, int K, bool TransB);

    private static readonly Shape[] Shapes =
    [
        new("square", 4096, 4096, 4096, TransB: false),
        new("qkv", Tokens, 2304, 768, TransB: true),
        new("attn-proj", Tokens, 768, 768, TransB: true),
        new("mlp-up", Tokens, 3072, 768, TransB: true),
        new("mlp-down", Tokens, 768, 3072, TransB: true),
        new("lm-head", Tokens, 50257, 768, TransB: true),
    ];

    private static readonly (string Name, IlgpuBackendOptions Options)[] Paths =
    [
        ("ilgpu-kernel", new IlgpuBackendOptions { CuBlas = false }),
        ("cublas-fp32", new IlgpuBackendOptions()),
        ("cublas-tf32", new IlgpuBackendOptions { Tf32 = true }),
    ];

    /// <summary>Prints one parseable line per path and shape, or one line saying why the section was skipped.</summary>
    public static void Run(string device, TextWriter output)
    {
        if (device != IlgpuDevices.Cuda)
        {
            output.WriteLine($"gemm throughput: skipped, cuBLAS and TF32 need --device cuda and this check runs on {device}");
            return;
        }
        output.WriteLine($"gemm throughput: one warm-up call, then about {TimedSeconds} s of calls per shape");
        var kernelSamples = new Dictionary<string, float[]>();
        foreach (var (path, options) in Paths)
        {
            using var backend = IlgpuBackend.Create(device, 0, options);
            if (options.CuBlas && !backend.UsesCuBlas)
            {
                output.WriteLine($"gemm {path}: skipped, cuBLAS did not load");
                continue;
            }
            foreach (var shape in Shapes)
            {
                var (tflops, sample) = Measure(backend, shape);
                string agreement = kernelSamples.TryGetValue(shape.Name, out var reference)
                    ? $" max_rel_diff_vs_kernel={MaxRelativeDifference(sample, reference):0.0e+0}"
                    : "";
                kernelSamples.TryAdd(shape.Name, sample);
                output.WriteLine($"gemm path={path} shape={shape.Name} m={shape.M} n={shape.N} k={shape.K} tflops={tflops:0.0}{agreement}");
            }
        }
    }

    private static (double Tflops, float[] Sample) Measure(IlgpuBackend backend, Shape shape)
    {
        // The same seeded inputs for every path, so their outputs can be compared.
        var rng = new Rng(7);
        var a = Upload(backend, shape.M * shape.K, rng);
        var b = Upload(backend, shape.K * shape.N, rng);
        var c = backend.Allocate<float>(shape.M * shape.N);
        void Call() => backend.Gemm(false, shape.TransB, shape.M, shape.N, shape.K, 1f, a, 0, b, 0, 0f, c, 0, 1);

        Call();
        var sample = Sample(backend, c);
        // One timed call sizes the run; then the calls queue back to back and the clock stops when the last one is done.
        var clock = Stopwatch.StartNew();
        Call();
        Wait(backend, c);
        int calls = (int)Math.Clamp(TimedSeconds / clock.Elapsed.TotalSeconds, 3, 1000);
        clock.Restart();
        for (int i = 0; i < calls; i++) Call();
        Wait(backend, c);
        double seconds = clock.Elapsed.TotalSeconds;
        foreach (var buffer in new[] { a, b, c }) buffer.Release();
        return (2.0 * shape.M * shape.N * shape.K * calls / seconds / 1e12, sample);
    }

    private static DeviceBuffer<float> Upload(IlgpuBackend backend, int length, Rng rng)
    {
        var host = new float[length];
        for (int i = 0; i < length; i++) host[i] = rng.NextFloat() - 0.5f;
        var buffer = backend.Allocate<float>(length);
        backend.Upload<float>(host, buffer);
        return buffer;
    }

    /// <summary>Downloads wait for queued work; one element is enough.</summary>
    private static void Wait(IlgpuBackend backend, DeviceBuffer<float> c)
    {
        Span<float> one = stackalloc float[1];
        backend.Download(c, one);
    }

    private static float[] Sample(IlgpuBackend backend, DeviceBuffer<float> c)
    {
        var all = new float[c.Length];
        backend.Download(c, all.AsSpan());
        var sample = new float[(all.Length + SampleStep - 1) / SampleStep];
        for (int i = 0; i < sample.Length; i++) sample[i] = all[i * SampleStep];
        return sample;
    }

    /// <summary>Largest |x - r| over the sample, relative to the sample's largest |r|: a GEMM's outputs cross zero, so an
    /// elementwise relative error would be dominated by near-zero elements.</summary>
    private static double MaxRelativeDifference(float[] sample, float[] reference)
    {
        double scale = reference.Max(r => Math.Abs((double)r)), worst = 0;
        for (int i = 0; i < sample.Length; i++) worst = Math.Max(worst, Math.Abs((double)sample[i] - reference[i]));
        return worst / scale;
    }
}
