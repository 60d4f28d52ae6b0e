namespace HardFocus.Engine.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Rope(DeviceBuffer<float> x, DeviceBuffer<float> cos, DeviceBuffer<float> sin, DeviceBuffer<float> y,
        int rows, int seq, int half, float sinSign)
    {
        float* px = P(x), pc = P(cos), ps = P(sin), py = P(y);
        int dim = 2 * half;
        CpuParallel.For(rows, RowGrain(dim), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                float* xr = px + (long)r * dim, yr = py + (long)r * dim;
                float* c = pc + (long)(r % seq) * half, sn = ps + (long)(r % seq) * half;
                for (int i = 0; i < half; i++)
                {
                    // Read both halves before writing: y may be x (in place).
                    float a = xr[i], b = xr[i + half], si = sinSign * sn[i];
                    yr[i] = a * c[i] - b * si;
                    yr[i + half] = b * c[i] + a * si;
                }
            }
        });
    }
}
