using HardFocus.Engine;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Tests;

/// <summary>Gathering parameters into one flat buffer of values and one of gradients, without changing what they hold.</summary>
public sealed class ParameterArenaTests
{
    private readonly CpuBackend _backend = new();

    private Tensor Parameter(params float[] values) => Tensor.Parameter(values, new Shape(values.Length), _backend);

    private float[] Download(Engine.Backends.DeviceBuffer<float> buffer, int length)
    {
        var host = new float[length];
        _backend.Download(buffer, host);
        return host;
    }

    [Fact]
    public void Gathering_KeepsValuesAndGradients_InOneBufferEach()
    {
        var a = Parameter(1f, 2f);
        var b = Parameter(3f, 4f, 5f);
        Ops.Sum(b * b).Backward();

        var arena = ParameterArena.Of([a, b]);

        Assert.Equal(5, arena.Length);
        Assert.Equal([1f, 2f, 3f, 4f, 5f], Download(arena.Values, 5));
        Assert.Equal([0f, 0f, 6f, 8f, 10f], Download(arena.Gradients(), 5));
        Assert.Null(a.Grad);
        Assert.Equal([6f, 8f, 10f], b.Grad!.ToArray());
        // The parameters are views of the arena now: writing one writes the flat buffer.
        a.CopyFrom([7f, 8f]);
        Assert.Equal([7f, 8f, 3f, 4f, 5f], Download(arena.Values, 5));
    }

    [Fact]
    public void Backward_AccumulatesIntoTheArena_AndZeroGradLeavesNoGradientBehind()
    {
        var w = Parameter(1f, 2f);
        var v = Parameter(3f);
        var arena = ParameterArena.Of([w, v]);

        // w is used twice, as a tied weight is: both contributions add up in its home.
        (Ops.Sum(w * w) + Ops.Sum(w * v)).Backward();
        Assert.Equal([2f + 3f, 4f + 3f], w.Grad!.ToArray());
        Assert.Equal([3f], v.Grad!.ToArray());
        Ops.Sum(w * w).Backward();
        Assert.Equal([5f + 2f, 7f + 4f, 3f], Download(arena.Gradients(), 3));

        w.ZeroGrad();
        v.ZeroGrad();
        Assert.Null(w.Grad);
        Assert.Null(v.Grad);
        // The next gradient replaces what the home held; a parameter that gets none reads as zeros.
        Ops.Sum(w * w).Backward();
        Assert.Equal([2f, 4f], w.Grad!.ToArray());
        Assert.Null(v.Grad);
        Assert.Equal([2f, 4f, 0f], Download(arena.Gradients(), 3));
        w.ZeroGrad();
        Assert.Equal([0f, 0f, 0f], Download(arena.Gradients(), 3));
    }

    [Fact]
    public void Of_FindsTheArenaAgain_InAnyOrder_AndRefusesToGatherAParameterTwice()
    {
        var a = Parameter(1f);
        var b = Parameter(2f);
        var arena = ParameterArena.Of([a, b]);

        Assert.Same(arena, ParameterArena.Of([b, a]));
        Assert.Throws<InvalidOperationException>(() => ParameterArena.Of([a]));
        Assert.Throws<ArgumentException>(() => ParameterArena.Of([Parameter(1f), Tensor.Parameter([1f], new Shape(1), new CpuBackend())]));
    }

    [Fact]
    public void AnOpWritesTheFirstContributionIntoTheHome_AndLaterOnesAddThere()
    {
        var w = Parameter(1f, 2f);
        var arena = ParameterArena.Of([w]);
        long rents = _backend.PoolStats.Rents;

        // The product's backward writes dw straight into the home: it rents no buffer for it.
        var dw = w.NewGradContribution();
        Assert.Equal(rents, _backend.PoolStats.Rents);
        _backend.Fill(dw.Buffer, 3f, 2);
        w.AccumulateGrad(dw);
        Assert.Equal([3f, 3f], Download(arena.Gradients(), 2));

        var more = w.NewGradContribution();
        Assert.Equal(rents + 1, _backend.PoolStats.Rents);
        _backend.Fill(more.Buffer, 0.5f, 2);
        w.AccumulateGrad(more);
        Assert.Equal([3.5f, 3.5f], w.Grad!.ToArray());
    }

    [Fact]
    public void TwoContributionsMadeBeforeEitherIsHandedOver_BothCount_InEitherOrder()
    {
        foreach (bool homeFirst in new[] { true, false })
        {
            var w = Parameter(0f, 0f);
            var arena = ParameterArena.Of([w]);
            var home = w.NewGradContribution();
            var other = w.NewGradContribution();
            _backend.Fill(home.Buffer, 1f, 2);
            _backend.Fill(other.Buffer, 2f, 2);

            w.AccumulateGrad(homeFirst ? home : other);
            w.AccumulateGrad(homeFirst ? other : home);

            Assert.Equal([3f, 3f], w.Grad!.ToArray());
            Assert.Equal([3f, 3f], Download(arena.Gradients(), 2));
        }
    }

    [Fact]
    public void Gathering_FreesTheParametersOwnBuffers()
    {
        var a = Parameter(1f, 2f);
        var b = Parameter(3f);

        ParameterArena.Of([a, b]);

        // Values and gradients, three floats each; the two buffers the parameters had are gone, not kept idle in the pool.
        Assert.Equal(2 * 3 * sizeof(float), _backend.PoolStats.BytesHeld);
    }

    [Fact]
    public void DisposingEveryParameter_ReturnsTheFlatBuffersToThePool()
    {
        var a = Parameter(1f, 2f);
        var b = Parameter(3f);
        ParameterArena.Of([a, b]);
        long before = _backend.PoolStats.Recycles;

        a.Dispose();
        Assert.Equal(before, _backend.PoolStats.Recycles);
        b.Dispose();

        // Values and gradients: the last slice of each lets its flat buffer go.
        Assert.Equal(before + 2, _backend.PoolStats.Recycles);
    }
}
