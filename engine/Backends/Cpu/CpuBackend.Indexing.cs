using System.Numerics.Tensors;

namespace HardFocus.Engine.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void EmbeddingGather(DeviceBuffer<float> table, DeviceBuffer<int> ids, DeviceBuffer<float> y, int count, int dim)
    {
        float* pt = P(table), py = P(y);
        int* pi = P(ids);
        int tableRows = table.Length / Math.Max(1, dim);
        CpuParallel.For(count, RowGrain(dim), (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                int id = CheckedId(pi[i], tableRows, i);
                new ReadOnlySpan<float>(pt + (long)id * dim, dim).CopyTo(new Span<float>(py + (long)i * dim, dim));
            }
        });
    }

    public void EmbeddingScatterAccumulate(DeviceBuffer<float> dy, DeviceBuffer<int> ids, DeviceBuffer<float> dTable, int count, int dim)
    {
        float* pdy = P(dy), pdt = P(dTable);
        int* pi = P(ids);
        int tableRows = dTable.Length / Math.Max(1, dim);
        // Repeated ids collide on rows, so workers split the columns instead and each walks every id in order.
        CpuParallel.For(dim, Math.Max(16, ElementGrain / Math.Max(1, count)), (s, e) =>
        {
            for (int i = 0; i < count; i++)
            {
                int id = CheckedId(pi[i], tableRows, i);
                var dst = new Span<float>(pdt + (long)id * dim + s, e - s);
                TensorPrimitives.Add(dst, new ReadOnlySpan<float>(pdy + (long)i * dim + s, e - s), dst);
            }
        });
    }

    private static int CheckedId(int id, int rows, int at) =>
        (uint)id < (uint)rows ? id : throw new ArgumentOutOfRangeException(nameof(id), $"Index {id} at position {at} is outside [0, {rows}).");

    public void SwapAxes12(DeviceBuffer<float> x, DeviceBuffer<float> y, int d0, int d1, int d2, int d3)
    {
        float* px = P(x), py = P(y);
        CpuParallel.For(d0 * d1, RowGrain(d2 * d3), (s, e) =>
        {
            for (int ab = s; ab < e; ab++)
            {
                int a = ab / d1, b = ab % d1;
                for (int c = 0; c < d2; c++)
                    new ReadOnlySpan<float>(px + (((long)a * d1 + b) * d2 + c) * d3, d3)
                        .CopyTo(new Span<float>(py + (((long)a * d2 + c) * d1 + b) * d3, d3));
            }
        });
    }
}
