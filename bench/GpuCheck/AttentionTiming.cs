using System.Diagnostics;
using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Ilgpu;

namespace HardFocus.Bench.GpuCheck;

/// <summary>
/// Milliseconds per call of causal attention forward and backward on the device, at GPT-2's heads (12 x 64) and two
/// context lengths, with the achieved TFLOP/s. Flops count the causal half of the products, 4·heads·T²/2·D forward and
/// 2.5 times that backward (the usual count; the kernels recompute scores, so they do somewhat more).
/// </summary>
internal static class AttentionTiming
{
    private const int Heads = 12, HeadDim = 64, WarmupRuns = 2, TimedRuns = 10;

    /// <summary>Batches large enough to fill the device: 96 (batch x head) problems at 1024, 24 of four times the length.</summary>
    private static readonly (int Batch, int Seq)[] Shapes = [(8, 1024), (2, 4096)];

    /// <summary>Prints one parseable line per shape and direction; on the CPU emulator only a line saying it is skipped.</summary>
    public static void Run(IBackend backend, string device, TextWriter output)
    {
        if (device == IlgpuDevices.Cpu)
        {
            output.WriteLine("attention timing: skipped on the CPU emulator (it times real devices only)");
            return;
        }
        output.WriteLine($"attention timing: {WarmupRuns} warm-up calls, then the mean of {TimedRuns}");
        var rng = new Rng(7);
        foreach (var (batch, seq) in Shapes)
        {
            int heads = batch * Heads, n = heads * seq * HeadDim;
            float scale = 1f / MathF.Sqrt(HeadDim);
            var buffers = new List<DeviceBuffer<float>>();
            DeviceBuffer<float> Buffer(int length)
            {
                var data = new float[length];
                for (int i = 0; i < length; i++) data[i] = rng.NextGaussian();
                var buffer = backend.Allocate<float>(length);
                backend.Upload<float>(data, buffer);
                buffers.Add(buffer);
                return buffer;
            }
            DeviceBuffer<float> q = Buffer(n), k = Buffer(n), v = Buffer(n), dOut = Buffer(n), o = Buffer(n), lse = Buffer(heads * seq);
            DeviceBuffer<float> dq = Buffer(n), dk = Buffer(n), dv = Buffer(n);

            double forwardFlops = 4.0 * heads * seq * seq / 2 * HeadDim;
            double forwardMs = Time(backend, o, () => backend.CausalAttention(q, k, v, o, lse, heads, 1, seq, HeadDim, scale));
            double backwardMs = Time(backend, dq, () =>
                backend.CausalAttentionBackward(q, k, v, o, lse, dOut, dq, dk, dv, heads, 1, seq, HeadDim, scale));
            string shape = $"batch={batch} heads={Heads} seq={seq} head_dim={HeadDim}";
            output.WriteLine($"attention forward {shape} ms={forwardMs:0.000} tflops={forwardFlops / forwardMs / 1e9:0.00}");
            output.WriteLine($"attention backward {shape} ms={backwardMs:0.000} tflops={2.5 * forwardFlops / backwardMs / 1e9:0.00}");
            foreach (var buffer in buffers) buffer.Release();
        }
    }

    /// <summary>Mean milliseconds of <paramref name="call"/>, waiting for the device by reading back one element of
    /// <paramref name="written"/> (downloads wait for queued kernels).</summary>
    private static double Time(IBackend backend, DeviceBuffer<float> written, Action call)
    {
        Span<float> one = stackalloc float[1];
        for (int i = 0; i < WarmupRuns; i++) call();
        backend.Download(written, one);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < TimedRuns; i++) call();
        backend.Download(written, one);
        return clock.Elapsed.TotalMilliseconds / TimedRuns;
    }
}
