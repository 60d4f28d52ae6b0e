namespace HardFocus.Engine.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        DeviceBuffer<float> a, long strideA, DeviceBuffer<float> b, long strideB,
        float beta, DeviceBuffer<float> c, long strideC, int batch)
    {
        CpuGemm.GemmBatched(transA, transB, m, n, k, alpha,
            P(a), transA ? m : k, strideA,
            P(b), transB ? k : n, strideB,
            beta, P(c), n, strideC, batch);
    }
}
