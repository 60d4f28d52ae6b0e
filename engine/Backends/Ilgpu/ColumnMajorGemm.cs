using ILGPU.Runtime.Cuda;

namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>
/// The column-major GEMM call (cuBLAS's arguments, in cuBLAS's order) that computes a row-major
/// <see cref="IBackend.Gemm"/>. Read as column-major, a row-major matrix is its own transpose, so row-major
/// C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: B becomes the first operand and A the second, and m and n swap.
/// An operand stored untransposed is, read column-major, already the transpose wanted (op N); a transposed one needs op T.
/// Each leading dimension is the length of the operand's stored rows. Generic over the operand type so that a test can run
/// the very call on host arrays.
/// </summary>
internal readonly record struct ColumnMajorGemm<T>(
    CuBlasOperation FirstOp, CuBlasOperation SecondOp, int M, int N, int K,
    T First, int LdFirst, long StrideFirst,
    T Second, int LdSecond, long StrideSecond,
    T C, int Ldc, long StrideC)
{
    public static ColumnMajorGemm<T> FromRowMajor(bool transA, bool transB, int m, int n, int k,
        T a, long strideA, T b, long strideB, T c, long strideC) => new(
        Op(transB), Op(transA), M: n, N: m, K: k,
        // cuBLAS rejects a leading dimension below 1, which k = 0 would otherwise give.
        First: b, LdFirst: Math.Max(1, transB ? k : n), StrideFirst: strideB,
        Second: a, LdSecond: Math.Max(1, transA ? m : k), StrideSecond: strideA,
        C: c, Ldc: n, StrideC: strideC);

    private static CuBlasOperation Op(bool transposed) =>
        transposed ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose;
}
