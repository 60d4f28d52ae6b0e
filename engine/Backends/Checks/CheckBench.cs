namespace HardFocus.Engine.Backends.Checks;

/// <summary>The same array on the reference CPU backend and on the backend under test.</summary>
public sealed record Pair<T>(DeviceBuffer<T> Cpu, DeviceBuffer<T> Device) where T : unmanaged;

/// <summary>One side of a check: its backend, and its half of every pair. A check states its kernel call once, as a
/// lambda over a side, and the bench runs it on both.</summary>
public readonly record struct Side(IBackend B, bool IsDevice)
{
    public DeviceBuffer<float> this[Pair<float> pair] => IsDevice ? pair.Device : pair.Cpu;
    public DeviceBuffer<int> this[Pair<int> pair] => IsDevice ? pair.Device : pair.Cpu;
}

/// <summary>Inputs and outputs of one parity check, allocated on both backends and released together.</summary>
public sealed class CheckBench(IBackend cpu, IBackend device, Rng rng) : IDisposable
{
    private readonly List<Action> _release = [];

    public Rng Rng => rng;

    /// <summary>What the device side's kernel calls go through; the device itself unless a check run wraps it.</summary>
    public IBackend? DeviceKernels { get; init; }

    public float[] Gaussian(int n, float scale = 1f, float shift = 0f)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = shift + scale * rng.NextGaussian();
        return data;
    }

    public Pair<float> Random(int n, float scale = 1f, float shift = 0f) => Same(Gaussian(n, scale, shift));

    /// <summary>An output prefilled with NaN, so an element the kernel forgets to write fails the comparison.</summary>
    public Pair<float> Output(int n) => Same(Enumerable.Repeat(float.NaN, n).ToArray());

    /// <summary>1 with probability <paramref name="keep"/>, else 0.</summary>
    public float[] Mask(int n, float keep) => Enumerable.Range(0, n).Select(_ => rng.NextFloat() < keep ? 1f : 0f).ToArray();

    public Pair<float> Same(float[] data) => Same<float>(data);

    public Pair<int> Same(int[] data) => Same<int>(data);

    public Pair<int> Ids(int n, int max) => Same(Enumerable.Range(0, n).Select(_ => rng.NextInt(max)).ToArray());

    private Pair<T> Same<T>(T[] data) where T : unmanaged
    {
        var pair = new Pair<T>(cpu.Allocate<T>(data.Length), device.Allocate<T>(data.Length));
        _release.Add(() => { pair.Cpu.Release(); pair.Device.Release(); });
        cpu.Upload<T>(data, pair.Cpu);
        device.Upload<T>(data, pair.Device);
        return pair;
    }

    public void Run(Action<Side> kernel)
    {
        kernel(new Side(cpu, IsDevice: false));
        kernel(new Side(DeviceKernels ?? device, IsDevice: true));
    }

    /// <summary>Largest absolute and relative difference. The relative error divides by max(|expected|, rms(expected)):
    /// plain |a - e| / |e| is meaningless where an output crosses zero (half of every GEMM result), and a fixed floor
    /// such as 1 would hide errors in small outputs like probabilities. A NaN or infinity on either side gives NaN.</summary>
    public (double Abs, double Rel) Compare(Pair<float> pair)
    {
        var expected = new float[pair.Cpu.Length];
        var actual = new float[pair.Device.Length];
        cpu.Download(pair.Cpu, expected.AsSpan());
        device.Download(pair.Device, actual.AsSpan());
        double rms = Math.Sqrt(expected.Sum(e => (double)e * e) / Math.Max(1, expected.Length));
        double abs = 0, rel = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (!float.IsFinite(expected[i]) || !float.IsFinite(actual[i])) return (double.NaN, double.NaN);
            double diff = Math.Abs((double)actual[i] - expected[i]);
            abs = Math.Max(abs, diff);
            rel = Math.Max(rel, diff == 0 ? 0 : diff / Math.Max(Math.Abs(expected[i]), rms));
        }
        return (abs, rel);
    }

    public void Dispose() => _release.ForEach(release => release());
}
