using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.Backends.Ilgpu;
using HardFocus.Engine.Backends.Checks;
using ILGPU;
using ILGPU.Runtime.CPU;

namespace HardFocus.Tests;

/// <summary>
/// One ILGPU backend on the CPU emulator for every ILGPU test, so each kernel compiles once. The emulated device has two
/// multiprocessors: grid-stride kernels then launch two groups, so stride and partial-sum paths are exercised.
/// </summary>
public sealed class IlgpuFixture : IDisposable
{
    public IlgpuBackend Backend { get; }

    public IlgpuFixture()
    {
        var context = Context.Create(b => b.CPU(new CPUDevice(4, 4, 2)).EnableAlgorithms());
        Backend = new IlgpuBackend(context.GetCPUDevice(0).CreateAccelerator(context));
    }

    public void Dispose() => Backend.Dispose();
}

[CollectionDefinition("ilgpu")]
public sealed class IlgpuCollection : ICollectionFixture<IlgpuFixture>;

/// <summary>
/// The engine's kernel table (<see cref="KernelChecks"/>, the same one `gpu-check` runs on a real device) on the ILGPU
/// emulator against the CPU backend, one case per check; then what the table cannot state: memory transfers, foreign
/// buffers, device listing.
/// </summary>
[Collection("ilgpu")]
public sealed class IlgpuParityTests(IlgpuFixture fixture) : IDisposable
{
    /// <summary>Stricter than the table's default: on the emulator only summation order differs from the CPU.</summary>
    private const double EmulatorTolerance = 1e-4;

    public static TheoryData<string> CheckNames => new(KernelChecks.All(quick: true).Select(c => c.Name));

    [Theory]
    [MemberData(nameof(CheckNames))]
    public void Kernel_MatchesTheCpuBackend(string name)
    {
        var check = KernelChecks.All(quick: true).Single(c => c.Name == name);
        var outcome = KernelChecks.Evaluate(check, fixture.Backend, new Rng(7), EmulatorTolerance);
        Assert.True(outcome.Pass, $"{name}: {outcome.Detail}");
    }

    /// <summary>Buffer management is tested below; every other member of the interface is a kernel the table must call.</summary>
    private static readonly string[] NotKernels =
        [nameof(IBackend.Name), nameof(IBackend.PoolStats), nameof(IBackend.Allocate), nameof(IBackend.Recycle),
         nameof(IBackend.TrimPool), nameof(IBackend.Upload), nameof(IBackend.Download), nameof(IDisposable.Dispose)];

    [Fact]
    public void EveryKernelOfTheBackendInterface_IsCalledByTheTable()
    {
        var recorder = KernelCallRecorder.Wrap(fixture.Backend);
        foreach (var check in KernelChecks.All(quick: true))
            KernelChecks.Evaluate(check, fixture.Backend, new Rng(7), deviceKernels: recorder);

        var kernels = typeof(IBackend).GetMethods().Select(m => m.IsSpecialName ? m.Name[4..] : m.Name)
            .Except(NotKernels).ToHashSet();
        var missing = kernels.Except(((KernelCallRecorder)(object)recorder).Called).Order().ToList();
        Assert.True(missing.Count == 0, $"IBackend members no kernel check calls: {string.Join(", ", missing)}");
    }

    private readonly IlgpuBackend _gpu = fixture.Backend;
    private readonly CpuBackend _cpu = new();
    private readonly Rng _rng = new(7);
    private readonly List<Pair> _pairs = [];

    /// <summary>The same array on both backends.</summary>
    private sealed record Pair(DeviceBuffer<float> Cpu, DeviceBuffer<float> Gpu);

    private float[] Random(int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = scale * _rng.NextGaussian();
        return a;
    }

    private Pair Same(float[] data)
    {
        var pair = new Pair(_cpu.Allocate<float>(data.Length), _gpu.Allocate<float>(data.Length));
        _cpu.Upload<float>(data, pair.Cpu);
        _gpu.Upload<float>(data, pair.Gpu);
        _pairs.Add(pair);
        return pair;
    }

    /// <summary>An output pair prefilled with NaN, so an element a kernel forgets to write shows up.</summary>
    private Pair Output(int n) => Same(Enumerable.Repeat(float.NaN, n).ToArray());

    private (DeviceBuffer<int> Cpu, DeviceBuffer<int> Gpu) Ids(int[] ids)
    {
        var cpu = _cpu.Allocate<int>(ids.Length);
        var gpu = _gpu.Allocate<int>(ids.Length);
        _cpu.Upload<int>(ids, cpu);
        _gpu.Upload<int>(ids, gpu);
        return (cpu, gpu);
    }

    private float[] Host(DeviceBuffer<float> buffer, IBackend backend)
    {
        var a = new float[buffer.Length];
        backend.Download(buffer, a.AsSpan());
        return a;
    }

    public void Dispose()
    {
        foreach (var pair in _pairs)
        {
            pair.Cpu.Release();
            pair.Gpu.Release();
        }
    }

    [Fact]
    public void Memory_UploadDownloadFillCopy()
    {
        var data = Random(29);
        var a = Same(data);
        Assert.Equal(data, Host(a.Gpu, _gpu));
        var ints = _gpu.Allocate<int>(5);
        _gpu.Upload<int>([3, -1, 7, 0, 2], ints);
        var back = new int[5];
        _gpu.Download(ints, back.AsSpan());
        Assert.Equal([3, -1, 7, 0, 2], back);
        ints.Release();

        var b = Output(29);
        _cpu.Copy(a.Cpu, b.Cpu, 17); _gpu.Copy(a.Gpu, b.Gpu, 17);
        _cpu.Fill(b.Cpu, 2.5f, 9); _gpu.Fill(b.Gpu, 2.5f, 9);
        var cpu = Host(b.Cpu, _cpu); var gpu = Host(b.Gpu, _gpu);
        Assert.Equal(cpu[..17], gpu[..17]);
        Assert.All(gpu[17..], v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void CrossEntropy_OutOfRangeTargetOnAnUnmaskedRow_GivesNaN()
    {
        var logits = Same(Random(2 * 5));
        var (tCpu, tGpu) = Ids([1, 5]);
        Pair losses = Output(2), lse = Output(2);
        _gpu.CrossEntropy(logits.Gpu, tGpu, null, losses.Gpu, lse.Gpu, 2, 5);
        var got = Host(losses.Gpu, _gpu);
        Assert.True(float.IsFinite(got[0]));
        Assert.True(float.IsNaN(got[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _cpu.CrossEntropy(logits.Cpu, tCpu, null, losses.Cpu, lse.Cpu, 2, 5));
        tCpu.Release(); tGpu.Release();
    }

    [Fact]
    public void BuffersOfAnotherBackend_AreRefused()
    {
        var x = Same(Random(4));
        var ex = Assert.Throws<ArgumentException>(() => _gpu.Affine(x.Cpu, x.Gpu, 4, 1f, 0f));
        Assert.Contains("cpu buffer", ex.Message);
    }

    [Fact]
    public void Devices_ListTheEmulator_AndCreateExplainsMissingDevices()
    {
        var devices = IlgpuDevices.List();
        Assert.Contains(devices, d => d.Kind == IlgpuDevices.Cpu && !d.IsGpu);
        Assert.Equal(IlgpuDevices.Cpu, _gpu.Name);
        Assert.Throws<ArgumentException>(() => IlgpuBackend.Create("tpu"));
        if (devices.Any(d => d.Kind == IlgpuDevices.Cuda))
        {
            using var cuda = IlgpuBackend.Create(IlgpuDevices.Cuda);
            Assert.StartsWith("cuda:0 ", cuda.Name);
        }
        else
        {
            var ex = Assert.Throws<InvalidOperationException>(() => IlgpuBackend.Create(IlgpuDevices.Cuda));
            Assert.Equal("no CUDA device found", ex.Message);
            Assert.NotEqual(IlgpuDevices.Cuda, IlgpuDevices.AutoKind());
        }
    }
}
