using HardFocus.Engine;

namespace HardFocus.Tests;

/// <summary>Every op's backward against finite differences on small, odd shapes.</summary>
public class OpGradientTests
{
    private readonly Rng _rng = new(42);

    private Tensor R(params int[] shape) => GradCheck.Random(_rng, shape);

    [Fact] public void Add_SameShape() => GradCheck.Check(t => t[0] + t[1], [R(3, 5), R(3, 5)]);
    [Fact] public void Add_TrailingBroadcast() => GradCheck.Check(t => t[0] + t[1], [R(2, 3, 5), R(3, 5)]);
    [Fact] public void Add_ScalarBroadcast() => GradCheck.Check(t => t[0] + t[1], [R(7), R(1)]);
    [Fact] public void Subtract_Broadcast() => GradCheck.Check(t => t[0] - t[1], [R(4, 3), R(3)]);
    [Fact] public void Multiply_Broadcast() => GradCheck.Check(t => t[0] * t[1], [R(4, 3), R(3)]);
    [Fact] public void Multiply_SameTensorTwice() => GradCheck.Check(t => t[0] * t[0], [R(5)]);
    [Fact] public void Scale() => GradCheck.Check(t => t[0] * -1.7f, [R(3, 3)]);
    [Fact] public void AddScalar() => GradCheck.Check(t => t[0] + 0.3f, [R(9)]);
    [Fact] public void Gelu() => GradCheck.Check(t => Ops.Gelu(t[0]), [R(2, 17)]);
    [Fact] public void Dropout() => GradCheck.Check(t => Ops.Dropout(t[0], 0.3f, seed: 7), [R(5, 7)]);
    [Fact] public void Sum() => GradCheck.Check(t => Ops.Sum(t[0]), [R(3, 7)]);
    [Fact] public void Mean() => GradCheck.Check(t => Ops.Mean(t[0] * t[0]), [R(11)]);
    [Fact] public void Softmax() => GradCheck.Check(t => Ops.Softmax(t[0]), [R(3, 7)]);
    [Fact] public void Reshape() => GradCheck.Check(t => Ops.Reshape(t[0], 5, -1) * t[1], [R(3, 5), R(5, 3)]);

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMul2D(bool ta, bool tb) =>
        GradCheck.Check(t => Ops.MatMul(t[0], t[1], ta, tb), [ta ? R(5, 3) : R(3, 5), tb ? R(4, 5) : R(5, 4)]);

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMulBatched(bool ta, bool tb) =>
        GradCheck.Check(t => Ops.MatMul(t[0], t[1], ta, tb), [ta ? R(2, 5, 3) : R(2, 3, 5), tb ? R(2, 4, 5) : R(2, 5, 4)]);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatMulSharedRightOperand(bool tb) =>
        GradCheck.Check(t => Ops.MatMul(t[0], t[1], false, tb), [R(2, 3, 5), tb ? R(4, 5) : R(5, 4)]);

    [Fact] public void Linear_WithBias() => GradCheck.Check(t => Ops.Linear(t[0], t[1], t[2]), [R(2, 3, 5), R(7, 5), R(7)]);
    [Fact] public void Linear_NoBias() => GradCheck.Check(t => Ops.Linear(t[0], t[1]), [R(3, 4), R(1, 4)]);

    [Fact]
    public void LayerNorm() => GradCheck.Check(t => Ops.LayerNorm(t[0], t[1], t[2]), [R(3, 9), R(9), R(9)]);

    [Fact]
    public void CausalAttention() =>
        GradCheck.Check(t => Ops.CausalAttention(t[0], t[1], t[2]), [R(1, 2, 5, 3), R(1, 2, 5, 3), R(1, 2, 5, 3)]);

    [Theory]
    [InlineData(4, 1)] // one key/value head for all query heads (multi-query)
    [InlineData(4, 2)] // two query heads per key/value head
    [InlineData(3, 3)] // as many as there are query heads (plain multi-head)
    public void CausalAttention_GroupedQuery(int heads, int kvHeads) =>
        GradCheck.Check(t => Ops.CausalAttention(t[0], t[1], t[2]), [R(2, heads, 5, 3), R(2, kvHeads, 5, 3), R(2, kvHeads, 5, 3)]);

    [Fact] public void RmsNorm() => GradCheck.Check(t => Ops.RmsNorm(t[0], t[1], 1e-5f), [R(3, 9), R(9)]);

    [Fact] public void SwiGlu() => GradCheck.Check(t => Ops.SwiGlu(t[0], t[1]), [R(2, 17), R(2, 17)]);

    [Fact]
    public void Rope()
    {
        // Positions 3..7 of a table with theta 100 so the angles differ visibly between dimensions.
        var (cos, sin) = RotaryTable.Compute(3, 5, 6, 100f);
        using var cosT = Tensor.FromArray(cos, 5, 3);
        using var sinT = Tensor.FromArray(sin, 5, 3);
        GradCheck.Check(t => Ops.Rope(t[0], cosT, sinT), [R(2, 3, 5, 6)]);
    }

    [Fact]
    public void SplitAndMergeHeads() =>
        GradCheck.Check(t => Ops.MergeHeads(Ops.SplitHeads(t[0], 3) * t[1]), [R(2, 5, 6), R(2, 3, 5, 2)]);

    [Fact]
    public void Embedding_WithRepeatedIds()
    {
        using var ids = IndexTensor.FromArray([3, 0, 3, 1, 3], new Shape(5));
        GradCheck.Check(t => Ops.Embedding(t[0], ids), [R(4, 3)]);
    }

    [Fact]
    public void CrossEntropy_WithMask()
    {
        using var targets = IndexTensor.FromArray([2, 0, 6, 1, 4, 5], new Shape(2, 3));
        using var mask = Tensor.FromArray([1f, 0f, 1f, 1f, 1f, 0f], 2, 3);
        GradCheck.Check(t => Ops.CrossEntropy(t[0], targets, mask), [R(2, 3, 7)]);
    }

    [Fact]
    public void MaskedMean()
    {
        using var mask = Tensor.FromArray([1f, 1f, 0f, 0f, 1f, 0f, 0f, 0f, 0f], 3, 3);
        GradCheck.Check(t => Ops.MaskedMean(t[0], mask), [R(3, 3)]);
    }

    [Fact]
    public void PerSampleLossChain()
    {
        // The training objective's whole chain: logits -> per-token CE -> per-sample masked mean -> weighted sum.
        using var targets = IndexTensor.FromArray([1, 4, 0, 2, 3, 3], new Shape(2, 3));
        using var mask = Tensor.FromArray([0f, 1f, 1f, 1f, 1f, 1f], 2, 3);
        using var weights = Tensor.FromArray([0.25f, 0.75f], 2);
        GradCheck.Check(t => Ops.Sum(Ops.MaskedMean(Ops.CrossEntropy(t[0], targets, mask), mask) * weights), [R(2, 3, 5)]);
    }
}
