namespace HardFocus.Training.Distributed;

/// <summary>
/// The processes that train one model together, and the few collective operations data-parallel training needs. Every
/// rank must make the same calls in the same order: a collective that one rank skips waits forever on the others.
/// </summary>
public interface ICommunicator
{
    /// <summary>This process's place among <see cref="Size"/> ranks; rank 0 writes the run folder and reports.</summary>
    int Rank { get; }
    int Size { get; }

    /// <summary>This process's place among the ranks on its machine, and how many share the machine.</summary>
    int LocalRank { get; }
    int LocalSize { get; }

    /// <summary>Every rank's <paramref name="mine"/>, concatenated in rank order; every rank passes the same length.</summary>
    float[] AllGather(float[] mine);

    /// <summary>Every rank's <paramref name="mine"/>, in rank order.</summary>
    ulong[] AllGather(ulong mine);

    /// <summary>Replaces each element by its sum over all ranks. Every rank ends with the same values.</summary>
    void SumInPlace(Span<float> values);

    /// <summary>True on every rank when <paramref name="mine"/> is true on any of them.</summary>
    bool Any(bool mine);
}

/// <summary>A run without MPI: a world of one, where every collective is the identity.</summary>
public sealed class SingleProcess : ICommunicator
{
    public static readonly SingleProcess Instance = new();

    public int Rank => 0;
    public int Size => 1;
    public int LocalRank => 0;
    public int LocalSize => 1;
    public float[] AllGather(float[] mine) => (float[])mine.Clone();
    public ulong[] AllGather(ulong mine) => [mine];
    public void SumInPlace(Span<float> values) { }
    public bool Any(bool mine) => mine;
}
