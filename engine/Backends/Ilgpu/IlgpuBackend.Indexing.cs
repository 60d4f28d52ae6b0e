using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;
using Ints = ILGPU.ArrayView<int>;

namespace HardFocus.Engine.Backends.Ilgpu;

// Grid-stride over output elements. A kernel cannot throw, so an id outside the table gathers NaN and scatters nothing.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, Ints, Floats, int, int, int> GatherK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Ints, Floats, int, int, int>(GatherKernel);
    private Action<KernelConfig, Floats, Ints, Floats, int, int, int> ScatterK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Ints, Floats, int, int, int>(ScatterKernel);
    private Action<KernelConfig, Floats, Floats, int, int, int, int> SwapAxesK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, int, int, int, int>(SwapAxesKernel);

    public void EmbeddingGather(DeviceBuffer<float> table, DeviceBuffer<int> ids, DeviceBuffer<float> y, int count, int dim)
    {
        if (count > 0 && dim > 0) GatherK(Stride(count * dim), V(table), V(ids), V(y), count, dim, table.Length / dim);
    }

    public void EmbeddingScatterAccumulate(DeviceBuffer<float> dy, DeviceBuffer<int> ids, DeviceBuffer<float> dTable, int count, int dim)
    {
        if (count > 0 && dim > 0) ScatterK(Stride(count * dim), V(dy), V(ids), V(dTable), count, dim, dTable.Length / dim);
    }

    public void SwapAxes12(DeviceBuffer<float> x, DeviceBuffer<float> y, int d0, int d1, int d2, int d3)
    {
        int count = d0 * d1 * d2 * d3;
        if (count > 0) SwapAxesK(Stride(count), V(x), V(y), d1, d2, d3, count);
    }

    private static void GatherKernel(Floats table, Ints ids, Floats y, int count, int dim, int tableRows)
    {
        for (int i = Grid.GlobalIndex.X; i < count * dim; i += Grid.DimX * Group.DimX)
        {
            int id = ids[i / dim];
            y[i] = (uint)id < (uint)tableRows ? table[(long)id * dim + i % dim] : float.NaN;
        }
    }

    // Repeated ids hit the same row, hence atomics (their order, and so the last bits of a sum, may vary run to run).
    private static void ScatterKernel(Floats dy, Ints ids, Floats dTable, int count, int dim, int tableRows)
    {
        for (int i = Grid.GlobalIndex.X; i < count * dim; i += Grid.DimX * Group.DimX)
        {
            int id = ids[i / dim];
            if ((uint)id < (uint)tableRows) Atomic.Add(ref dTable[(long)id * dim + i % dim], dy[i]);
        }
    }

    /// <summary>Each thread writes y[a, c, b, d] from x[a, b, c, d], so writes are coalesced.</summary>
    private static void SwapAxesKernel(Floats x, Floats y, int d1, int d2, int d3, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            int d = i % d3, rest = i / d3;
            int b = rest % d1;
            rest /= d1;
            int c = rest % d2, a = rest / d2;
            y[i] = x[(((long)a * d1 + b) * d2 + c) * d3 + d];
        }
    }
}
