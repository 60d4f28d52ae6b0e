using System.Runtime.InteropServices;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>
/// <see cref="IBackend.Gemm"/> through cuBLAS, bound to the backend's stream so that its GEMMs run in order with the
/// backend's kernels. One problem goes through ILGPU.Algorithms' binding; a batch goes through cublasSgemmStridedBatched,
/// which that binding lacks, called from the same library with the binding's handle.
/// </summary>
internal sealed unsafe class CuBlasGemm : IDisposable
{
    /// <summary>cublasMath_t's CUBLAS_TF32_TENSOR_OP_MATH (cuBLAS 11 and later); ILGPU's enum predates it.</summary>
    private const CuBlasMathMode Tf32TensorOpMath = (CuBlasMathMode)3;

    private readonly CuBlas _blas;
    private readonly delegate* unmanaged<IntPtr, CuBlasOperation, CuBlasOperation, int, int, int, float*, IntPtr, int, long,
        IntPtr, int, long, float*, IntPtr, int, long, int, CuBlasStatus> _sgemmStridedBatched;

    private CuBlasGemm(CuBlas blas, IntPtr sgemmStridedBatched)
    {
        _blas = blas;
        _sgemmStridedBatched = (delegate* unmanaged<IntPtr, CuBlasOperation, CuBlasOperation, int, int, int, float*, IntPtr, int,
            long, IntPtr, int, long, float*, IntPtr, int, long, int, CuBlasStatus>)sgemmStridedBatched;
    }

    /// <summary>cuBLAS on <paramref name="stream"/>, with TF32 tensor-core math if asked; or null, after one line on stderr
    /// saying why, when cuBLAS cannot be loaded (the caller then runs its own kernel).</summary>
    public static CuBlasGemm? TryCreate(CudaAccelerator accelerator, CudaStream stream, bool tf32)
    {
        CuBlas? blas = null;
        try
        {
            blas = new CuBlas(accelerator) { Stream = stream };
            // Default math keeps fp32 GEMMs in fp32, so results match the CPU backend up to summation order.
            blas.MathMode = tf32 ? Tf32TensorOpMath : CuBlasMathMode.DefaultMath;
            var library = NativeLibrary.Load(LibraryName(blas.Version));
            return new CuBlasGemm(blas, NativeLibrary.GetExport(library, "cublasSgemmStridedBatched"));
        }
        catch (Exception e)
        {
            blas?.Dispose();
            // A DllNotFoundException lists every path it tried, one per line.
            string why = string.Join(' ', e.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            Console.Error.WriteLine($"cuBLAS could not be loaded ({e.GetType().Name}: {why}); GEMMs run on the ILGPU kernel{(tf32 ? ", without TF32" : "")}.");
            return null;
        }
    }

    /// <summary>The file of the cuBLAS major version the binding loaded (it tries 12, then 11, then 10), so the batched call
    /// reaches the library its handle belongs to. cublasGetVersion gives major * 10000 + minor * 100 + patch in cuBLAS 12 and
    /// late 11 releases (110902 for 11.9.2), major * 1000 + minor * 100 + patch in earlier ones (11605 for 11.6.5).</summary>
    private static string LibraryName(int version)
    {
        int major = version >= 100_000 ? version / 10_000 : version / 1_000;
        return OperatingSystem.IsWindows() ? $"cublas64_{major}.dll" : $"libcublas.so.{major}";
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Floats a, long strideA, Floats b, long strideB,
        float beta, Floats c, long strideC, int batch)
    {
        var call = ColumnMajorGemm<Floats>.FromRowMajor(transA, transB, m, n, k, a, strideA, b, strideB, c, strideC);
        if (batch == 1)
        {
            _blas.Gemm(call.FirstOp, call.SecondOp, call.M, call.N, call.K, alpha, call.First, call.LdFirst,
                call.Second, call.LdSecond, beta, call.C, call.Ldc);
            return;
        }
        // The binding makes the accelerator's context current before each of its calls; this call needs the same.
        _blas.Stream.Accelerator.Bind();
        CuBlasException.ThrowIfFailed(_sgemmStridedBatched(_blas.Handle, call.FirstOp, call.SecondOp, call.M, call.N, call.K,
            &alpha, call.First.LoadEffectiveAddressAsPtr(), call.LdFirst, call.StrideFirst,
            call.Second.LoadEffectiveAddressAsPtr(), call.LdSecond, call.StrideSecond,
            &beta, call.C.LoadEffectiveAddressAsPtr(), call.Ldc, call.StrideC, batch));
    }

    public void Dispose() => _blas.Dispose();
}
