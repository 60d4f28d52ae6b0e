using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.Backends.Ilgpu;

namespace HardFocus.Tests;

/// <summary>
/// The ILGPU backend's tiled attention on the CPU emulator against the CPU backend. The emulator's groups are 4 x 4
/// threads, so tiles are 16 rows, keys and head dimensions: the sequences end one short of a tile, one past it and part
/// way into a later one, and head sizes span one tile-wide slice of dimensions, a part of one, and several.
/// </summary>
[Collection("ilgpu")]
public sealed class IlgpuAttentionTests(IlgpuFixture fixture) : IDisposable
{
    private readonly IlgpuBackend _gpu = fixture.Backend;
    private readonly CpuBackend _cpu = new();
    private readonly Rng _rng = new(11);
    private readonly List<Pair> _pairs = [];

    /// <summary>The same array on both backends.</summary>
    private sealed record Pair(DeviceBuffer<float> Cpu, DeviceBuffer<float> Gpu);

    private Pair Same(float[] data)
    {
        var pair = new Pair(_cpu.Allocate<float>(data.Length), _gpu.Allocate<float>(data.Length));
        _cpu.Upload<float>(data, pair.Cpu);
        _gpu.Upload<float>(data, pair.Gpu);
        _pairs.Add(pair);
        return pair;
    }

    private Pair Random(int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = scale * _rng.NextGaussian();
        return Same(a);
    }

    /// <summary>Prefilled with NaN, so an element a kernel forgets to write, or adds to instead of writing, shows up.</summary>
    private Pair Output(int n) => Same(Enumerable.Repeat(float.NaN, n).ToArray());

    private static float[] Host(DeviceBuffer<float> buffer, IBackend backend)
    {
        var a = new float[buffer.Length];
        backend.Download(buffer, a.AsSpan());
        return a;
    }

    /// <summary>Every element within 1e-5 of the tensor's largest magnitude (or of 1, for a tensor that is zero up to
    /// rounding, as dq is at seq 1): gradients mix large and near-zero entries.</summary>
    private void Close(Pair pair, string what)
    {
        float[] expected = Host(pair.Cpu, _cpu), actual = Host(pair.Gpu, _gpu);
        double tolerance = 1e-5 * Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(float.IsFinite(actual[i]) && Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what}[{i}]: cpu {expected[i]}, ilgpu {actual[i]}");
    }

    /// <summary>Random q, k, v and dO for <paramref name="heads"/> query heads sharing key/value heads in groups of
    /// <paramref name="queriesPerKvHead"/>. Queries are scaled up so the softmax is peaked and the running max matters.</summary>
    private (Pair Q, Pair K, Pair V, Pair DOut) Inputs(int heads, int queriesPerKvHead, int seq, int headDim)
    {
        int n = heads * seq * headDim, nkv = n / queriesPerKvHead;
        return (Random(n, 3f), Random(nkv), Random(nkv), Random(n));
    }

    [Theory]
    [InlineData(2, 1, 1, 8)]
    [InlineData(2, 1, 15, 16)]
    [InlineData(2, 1, 17, 8)]
    [InlineData(1, 1, 100, 16)]
    [InlineData(1, 1, 33, 64)]
    [InlineData(1, 1, 17, 128)]
    [InlineData(4, 2, 17, 16)]
    [InlineData(4, 2, 50, 8)]
    [InlineData(8, 4, 33, 8)]
    public void CausalAttention_ForwardAndBackward_MatchCpuBackend(int heads, int queriesPerKvHead, int seq, int headDim)
    {
        int n = heads * seq * headDim, nkv = n / queriesPerKvHead;
        float scale = 1f / MathF.Sqrt(headDim);
        var (q, k, v, dOut) = Inputs(heads, queriesPerKvHead, seq, headDim);
        Pair o = Output(n), lse = Output(heads * seq), dq = Output(n), dk = Output(nkv), dv = Output(nkv);

        _cpu.CausalAttention(q.Cpu, k.Cpu, v.Cpu, o.Cpu, lse.Cpu, heads, queriesPerKvHead, seq, headDim, scale);
        _gpu.CausalAttention(q.Gpu, k.Gpu, v.Gpu, o.Gpu, lse.Gpu, heads, queriesPerKvHead, seq, headDim, scale);
        Close(o, "output");
        Close(lse, "logsumexp");

        _cpu.CausalAttentionBackward(q.Cpu, k.Cpu, v.Cpu, o.Cpu, lse.Cpu, dOut.Cpu, dq.Cpu, dk.Cpu, dv.Cpu,
            heads, queriesPerKvHead, seq, headDim, scale);
        _gpu.CausalAttentionBackward(q.Gpu, k.Gpu, v.Gpu, o.Gpu, lse.Gpu, dOut.Gpu, dq.Gpu, dk.Gpu, dv.Gpu,
            heads, queriesPerKvHead, seq, headDim, scale);
        Close(dq, "dq");
        Close(dk, "dk");
        Close(dv, "dv");
    }

    [Fact]
    public void CausalAttentionBackward_GivesTheSameBitsEveryRun()
    {
        const int heads = 4, group = 2, seq = 20, headDim = 8;
        int n = heads * seq * headDim, nkv = n / group;
        float scale = 1f / MathF.Sqrt(headDim);
        var (q, k, v, dOut) = Inputs(heads, group, seq, headDim);
        Pair o = Output(n), lse = Output(heads * seq);
        _gpu.CausalAttention(q.Gpu, k.Gpu, v.Gpu, o.Gpu, lse.Gpu, heads, group, seq, headDim, scale);
        var runs = Enumerable.Range(0, 2).Select(_ =>
        {
            Pair dq = Output(n), dk = Output(nkv), dv = Output(nkv);
            _gpu.CausalAttentionBackward(q.Gpu, k.Gpu, v.Gpu, o.Gpu, lse.Gpu, dOut.Gpu, dq.Gpu, dk.Gpu, dv.Gpu, heads, group, seq, headDim, scale);
            return new[] { dq, dk, dv }.SelectMany(p => Host(p.Gpu, _gpu)).ToArray();
        }).ToArray();
        Assert.Equal(runs[0], runs[1]);
    }

    public void Dispose()
    {
        foreach (var pair in _pairs)
        {
            pair.Cpu.Release();
            pair.Gpu.Release();
        }
    }
}
