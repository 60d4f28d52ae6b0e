namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>How an <see cref="IlgpuBackend"/> runs its matrix products.</summary>
public sealed record IlgpuBackendOptions
{
    /// <summary>On a CUDA device, run Gemm through cuBLAS (the default); false keeps the ILGPU kernel, which gpu-check
    /// times against cuBLAS.</summary>
    public bool CuBlas { get; init; } = true;

    /// <summary>Let cuBLAS multiply fp32 matrices on TF32 tensor cores: much faster, but the inputs of each product are
    /// rounded to 10 mantissa bits, so results no longer match the CPU backend closely. Off by default; CUDA only.</summary>
    public bool Tf32 { get; init; }
}
