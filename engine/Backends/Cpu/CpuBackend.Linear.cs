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

    // The bias goes into the GEMM's last store, saving a read and a write of y (bias adds were about 3% of a small
    // model's step as a separate pass).
    public void LinearForward(DeviceBuffer<float> x, DeviceBuffer<float> weight, DeviceBuffer<float> bias, DeviceBuffer<float> y,
        int rows, int inFeatures, int outFeatures)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bias.Length, outFeatures);
        CpuGemm.GemmBias(false, true, rows, outFeatures, inFeatures, 1f, P(x), inFeatures, P(weight), inFeatures, 0f, P(y), outFeatures, P(bias));
    }
}
