namespace HardFocus.Bench.Torch.Baselines;

/// <summary>C[M x N] = A[M x K] * op(B); with TransB the weight is stored N x K, as nn.Linear keeps it, otherwise
/// K x N, as Hugging Face's Conv1D does.</summary>
public sealed record GemmShape(int M, int N, int K, bool TransB = false) : IComparable<GemmShape>, IComparable
{
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => $"{M}x{N}x{K}{(TransB ? " Bt" : "")}";

    // Lets BenchmarkDotNet list the shapes by size rather than alphabetically.
    public int CompareTo(GemmShape? other) => other is null ? 1 : (Flops, TransB, M).CompareTo((other.Flops, other.TransB, other.M));
    public int CompareTo(object? obj) => CompareTo(obj as GemmShape);
}
