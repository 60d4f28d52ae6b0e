using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

// Grid-stride over (row, i < half) pairs: each thread turns one pair of values, so in-place calls are safe.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Floats, Floats, Floats, int, int, int, float> RopeK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, int, int, int, float>(RopeKernel);

    public void Rope(DeviceBuffer<float> x, DeviceBuffer<float> cos, DeviceBuffer<float> sin, DeviceBuffer<float> y,
        int rows, int seq, int half, float sinSign)
    {
        if (rows > 0 && half > 0) RopeK(Stride(rows * half), V(x), V(cos), V(sin), V(y), rows * half, seq, half, sinSign);
    }

    private static void RopeKernel(Floats x, Floats cos, Floats sin, Floats y, int count, int seq, int half, float sinSign)
    {
        for (int p = Grid.GlobalIndex.X; p < count; p += Grid.DimX * Group.DimX)
        {
            int row = p / half, i = p - row * half;
            long at = (long)row * 2 * half + i, table = (long)(row % seq) * half + i;
            float a = x[at], b = x[at + half], c = cos[table], s = sinSign * sin[table];
            y[at] = a * c - b * s;
            y[at + half] = b * c + a * s;
        }
    }
}
