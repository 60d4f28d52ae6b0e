using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Tests;

/// <summary>
/// The ILGPU backend's tiled attention on the CPU emulator against the CPU backend. The emulator's groups are 4 x 4
/// threads, so tiles are 16 rows, keys and head dimensions: the sequences end one short of a tile, one past it and part
/// way into a later one, and head sizes span one tile-wide slice of dimensions, a part of one, and several.
/// </summary>
[Collection("ilgpu")]
public sealed class IlgpuAttentionTests(IlgpuFixture fixture)
{
    private static readonly string[] Names = ["output", "logsumexp", "dq", "dk", "dv"];

    /// <summary>Random q, k, v and dO for <paramref name="heads"/> query heads sharing key/value heads in groups of
    /// <paramref name="queriesPerKvHead"/>. Queries are scaled up so the softmax is peaked and the running max matters.</summary>
    private static float[][] Inputs(int heads, int queriesPerKvHead, int seq, int headDim)
    {
        var rng = new Rng(11);
        float[] Gaussian(int n, float scale) => Enumerable.Range(0, n).Select(_ => scale * rng.NextGaussian()).ToArray();
        int n = heads * seq * headDim;
        return [Gaussian(n, 3f), Gaussian(n / queriesPerKvHead, 1f), Gaussian(n / queriesPerKvHead, 1f), Gaussian(n, 1f)];
    }

    /// <summary>Forward then backward on <paramref name="backend"/>: output, logsumexp, dq, dk and dv. Outputs start as NaN,
    /// so an element a kernel forgets to write, or adds to instead of writing, shows up.</summary>
    private static float[][] ForwardAndBackward(IBackend backend, float[][] inputs, int heads, int queriesPerKvHead, int seq, int headDim)
    {
        var buffers = new List<DeviceBuffer<float>>();
        DeviceBuffer<float> Upload(float[] data)
        {
            var buffer = backend.Allocate<float>(data.Length);
            backend.Upload<float>(data, buffer);
            buffers.Add(buffer);
            return buffer;
        }
        DeviceBuffer<float> Unwritten(int n) => Upload(Enumerable.Repeat(float.NaN, n).ToArray());

        int n = heads * seq * headDim, nkv = n / queriesPerKvHead;
        float scale = 1f / MathF.Sqrt(headDim);
        DeviceBuffer<float> q = Upload(inputs[0]), k = Upload(inputs[1]), v = Upload(inputs[2]), dOut = Upload(inputs[3]);
        DeviceBuffer<float> o = Unwritten(n), lse = Unwritten(heads * seq), dq = Unwritten(n), dk = Unwritten(nkv), dv = Unwritten(nkv);
        backend.CausalAttention(q, k, v, o, lse, heads, queriesPerKvHead, seq, headDim, scale);
        backend.CausalAttentionBackward(q, k, v, o, lse, dOut, dq, dk, dv, heads, queriesPerKvHead, seq, headDim, scale);
        var results = new[] { o, lse, dq, dk, dv }.Select(buffer =>
        {
            var host = new float[buffer.Length];
            backend.Download(buffer, host.AsSpan());
            return host;
        }).ToArray();
        foreach (var buffer in buffers) buffer.Release();
        return results;
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
        var inputs = Inputs(heads, queriesPerKvHead, seq, headDim);
        using var cpu = new CpuBackend();
        var expected = ForwardAndBackward(cpu, inputs, heads, queriesPerKvHead, seq, headDim);
        var actual = ForwardAndBackward(fixture.Backend, inputs, heads, queriesPerKvHead, seq, headDim);
        for (int t = 0; t < Names.Length; t++)
        {
            // Within 1e-5 of the tensor's largest magnitude, as gradients mix large and near-zero entries; or of 1, for a
            // tensor that is zero up to rounding (dq at seq 1).
            double tolerance = 1e-5 * Math.Max(1, expected[t].Max(Math.Abs));
            for (int i = 0; i < expected[t].Length; i++)
                Assert.True(float.IsFinite(actual[t][i]) && Math.Abs(expected[t][i] - actual[t][i]) <= tolerance,
                    $"{Names[t]}[{i}]: cpu {expected[t][i]}, ilgpu {actual[t][i]}");
        }
    }

    [Fact]
    public void CausalAttentionBackward_GivesTheSameBitsEveryRun()
    {
        const int heads = 4, group = 2, seq = 20, headDim = 8;
        var inputs = Inputs(heads, group, seq, headDim);
        Assert.Equal(ForwardAndBackward(fixture.Backend, inputs, heads, group, seq, headDim),
            ForwardAndBackward(fixture.Backend, inputs, heads, group, seq, headDim));
    }
}
