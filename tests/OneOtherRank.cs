using HardFocus.Training.Distributed;

namespace HardFocus.Tests;

/// <summary>A stand-in for a two-rank world whose other rank contributes a constant to every sum.</summary>
internal sealed class OneOtherRank(float addend) : ICommunicator
{
    public List<int> Buckets { get; } = [];
    public int Rank => 0;
    public int Size => 2;
    public int LocalRank => 0;
    public int LocalSize => 2;
    public float[] AllGather(float[] mine) => throw new NotSupportedException();
    public ulong[] AllGather(ulong mine) => throw new NotSupportedException();
    public bool Any(bool mine) => throw new NotSupportedException();

    public void SumInPlace(Span<float> values)
    {
        Buckets.Add(values.Length);
        foreach (ref float v in values) v += addend;
    }
}
