using HardFocus.Engine;
using HardFocus.Engine.Autograd;

namespace HardFocus.Tests;

public class AutogradTests
{
    [Fact]
    public void MaskedPositions_GetExactlyZeroGradient()
    {
        var rng = new Rng(5);
        var logits = Tensor.Parameter(Enumerable.Range(0, 2 * 3 * 5).Select(_ => rng.NextGaussian()).ToArray(), new Shape(2, 3, 5));
        using var targets = IndexTensor.FromArray([1, 2, 3, 4, 0, 1], new Shape(2, 3));
        var mask = Tensor.FromArray([1f, 0f, 1f, 0f, 0f, 1f], 2, 3);
        Ops.Sum(Ops.MaskedMean(Ops.CrossEntropy(logits, targets, mask), mask)).Backward();
        var grad = logits.Grad!.ToArray();
        var maskValues = mask.ToArray();
        for (int position = 0; position < 6; position++)
        {
            var row = grad.AsSpan(position * 5, 5);
            if (maskValues[position] == 0f) Assert.All(row.ToArray(), g => Assert.Equal(0f, g));
            else Assert.Contains(row.ToArray(), g => g != 0f);
        }
    }

    [Fact]
    public void NonScalarSeed_ScalesGradientPerRow()
    {
        var rng = new Rng(8);
        float[] data = Enumerable.Range(0, 3 * 4).Select(_ => rng.NextGaussian()).ToArray();
        float[] Grad(float[] seed)
        {
            var x = Tensor.Parameter(data, new Shape(3, 4));
            using var targets = IndexTensor.FromArray([0, 1, 2], new Shape(3));
            Ops.CrossEntropy(x, targets).Backward(Tensor.FromArray(seed, 3));
            return x.Grad!.ToArray();
        }
        var unit = Grad([1f, 1f, 1f]);
        var scaled = Grad([2f, 0f, -0.5f]);
        float[] factor = [2f, 0f, -0.5f];
        for (int i = 0; i < unit.Length; i++) Assert.Equal(unit[i] * factor[i / 4], scaled[i], 6);
    }

    [Fact]
    public void GradientsAccumulateAcrossBackwardCalls_UntilZeroGrad()
    {
        var w = Tensor.Parameter([1f, 2f], new Shape(2));
        Ops.Sum(w * w).Backward();
        Ops.Sum(w * w).Backward();
        Assert.Equal([4f, 8f], w.Grad!.ToArray());
        w.ZeroGrad();
        Assert.Null(w.Grad);
    }

    [Fact]
    public void NoGrad_RecordsNothing()
    {
        var w = Tensor.Parameter([1f, 2f], new Shape(2));
        using (GradMode.NoGrad())
        {
            var y = Ops.Sum(w * w);
            Assert.False(y.RequiresGrad);
            Assert.Throws<InvalidOperationException>(() => y.Backward());
        }
        Assert.True(Ops.Sum(w * w).RequiresGrad);
    }

    [Fact]
    public void IntermediateGradients_AreFreedUnlessRetained()
    {
        var w = Tensor.Parameter([1f, 2f, 3f], new Shape(3));
        var hidden = w * w;
        var kept = Ops.Gelu(w);
        kept.RetainGrad = true;
        Ops.Sum(hidden + kept).Backward();
        Assert.Null(hidden.Grad);
        Assert.Equal([1f, 1f, 1f], kept.Grad!.ToArray());
        Assert.NotNull(w.Grad);
    }

    [Fact]
    public void Scope_ReleasesIntermediates_KeepsParametersAndKeptTensors()
    {
        var backend = new HardFocus.Engine.Backends.Cpu.CpuBackend();
        var w = Tensor.Parameter([1f, 2f], new Shape(2), backend);
        Tensor inner, kept;
        using (var scope = TensorScope.Begin())
        {
            inner = w * w;
            kept = scope.Keep(Ops.Sum(inner));
            kept.Backward();
        }
        Assert.True(inner.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.False(w.IsDisposed);
        Assert.Equal([2f, 4f], w.Grad!.ToArray());
        Assert.Equal(5f, kept.Item());
    }

    [Fact]
    public void MismatchedShapes_GiveClearErrors()
    {
        var a = Tensor.Zeros(new Shape(2, 3));
        Assert.Contains("does not broadcast", Assert.Throws<ArgumentException>(() => a + Tensor.Zeros(new Shape(2))).Message);
        Assert.Contains("inner dimensions", Assert.Throws<ArgumentException>(() => Ops.MatMul(a, a)).Message);
        using var badTargets = IndexTensor.FromArray([0, 9], new Shape(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.CrossEntropy(a, badTargets));
    }
}
