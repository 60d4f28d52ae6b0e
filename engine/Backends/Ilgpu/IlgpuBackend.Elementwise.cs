using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace HardFocus.Engine.Backends.Ilgpu;

// Grid-stride loops: a launch covers only the resident threads and each thread walks the array, which is what makes
// these kernels cheap on the CPU emulator as well as on GPUs.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, Floats, float, int> FillK =>
        field ??= _accelerator.LoadStreamKernel<Floats, float, int>(FillKernel);
    private Action<KernelConfig, Floats, Floats, Floats, int, int, int> BinaryK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int, int, int>(BinaryKernel);
    private Action<KernelConfig, Floats, Floats, int, float, float> AffineK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, int, float, float>(AffineKernel);
    private Action<KernelConfig, Floats, Floats, int, float> AxpyK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, int, float>(AxpyKernel);
    private Action<KernelConfig, Floats, Floats, int, int, int> ColumnSumK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, int, int, int>(ColumnSumKernel);
    private Action<KernelConfig, Floats, Floats, int, int> SumK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, int, int>(SumKernel);
    private Action<KernelConfig, Floats, Floats, int> GeluK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, int>(GeluKernel);
    private Action<KernelConfig, Floats, Floats, Floats, int> GeluBackwardK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int>(GeluBackwardKernel);
    private Action<KernelConfig, Floats, Floats, Floats, int> SwiGluK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int>(SwiGluKernel);
    private Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, int> SwiGluBackwardK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, int>(SwiGluBackwardKernel);
    private Action<KernelConfig, Floats, Floats, Floats, int, float, ulong> DropoutK =>
        field ??= _accelerator.LoadStreamKernel<Floats, Floats, Floats, int, float, ulong>(DropoutKernel);

    public void Binary(BinaryOp op, DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> y, int count, int period)
    {
        if (op is < BinaryOp.Add or > BinaryOp.Multiply) throw new ArgumentOutOfRangeException(nameof(op));
        if (count > 0) BinaryK(Stride(count), V(a), V(b), V(y), count, period, (int)op);
    }

    public void Affine(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, float scale, float shift)
    {
        if (count > 0) AffineK(Stride(count), V(x), V(y), count, scale, shift);
    }

    public void AxpyAccumulate(float alpha, DeviceBuffer<float> x, DeviceBuffer<float> y, int count)
    {
        if (count > 0) AxpyK(Stride(count), V(x), V(y), count, alpha);
    }

    public void SumToPeriod(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, int period)
    {
        if (period == 1) Sum(x, y, count);
        else if (period > 0) ColumnSumK(Columns(period), V(x), V(y), count / period, period, ColumnLanes);
    }

    public void Sum(DeviceBuffer<float> x, DeviceBuffer<float> y, int count) => Sum(x, y, count, squares: false);

    public void SumOfSquares(DeviceBuffer<float> x, DeviceBuffer<float> y, int count) => Sum(x, y, count, squares: true);

    private void Sum(DeviceBuffer<float> x, DeviceBuffer<float> y, int count, bool squares)
    {
        // Per-group partial sums, then one group adds them up: deterministic, and nothing leaves the device.
        int groups = StrideGroups(count), square = squares ? 1 : 0;
        if (groups == 1)
        {
            SumK(Groups(1, _groupSize), V(x), V(y), count, square);
            return;
        }
        var partials = Allocate<float>(groups);
        SumK(Groups(groups, _groupSize), V(x), V(partials), count, square);
        SumK(Groups(1, _groupSize), V(partials), V(y), groups, 0);
        partials.Release();
    }

    public void Gelu(DeviceBuffer<float> x, DeviceBuffer<float> y, int count)
    {
        if (count > 0) GeluK(Stride(count), V(x), V(y), count);
    }

    public void GeluBackward(DeviceBuffer<float> x, DeviceBuffer<float> dy, DeviceBuffer<float> dx, int count)
    {
        if (count > 0) GeluBackwardK(Stride(count), V(x), V(dy), V(dx), count);
    }

    public void Dropout(DeviceBuffer<float> x, DeviceBuffer<float> y, DeviceBuffer<float> keep, int count, float p, ulong seed)
    {
        if (count > 0) DropoutK(Stride(count), V(x), V(y), V(keep), count, p, seed);
    }

    public void SwiGlu(DeviceBuffer<float> gate, DeviceBuffer<float> up, DeviceBuffer<float> y, int count)
    {
        if (count > 0) SwiGluK(Stride(count), V(gate), V(up), V(y), count);
    }

    public void SwiGluBackward(DeviceBuffer<float> gate, DeviceBuffer<float> up, DeviceBuffer<float> dy, DeviceBuffer<float> dGate,
        DeviceBuffer<float> dUp, int count)
    {
        if (count > 0) SwiGluBackwardK(Stride(count), V(gate), V(up), V(dy), V(dGate), V(dUp), count);
    }

    private static void FillKernel(Floats y, float value, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX) y[i] = value;
    }

    private static void BinaryKernel(Floats a, Floats b, Floats y, int count, int period, int op)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float av = a[i], bv = b[period == count ? i : i % period];
            y[i] = op == (int)BinaryOp.Add ? av + bv : op == (int)BinaryOp.Subtract ? av - bv : av * bv;
        }
    }

    private static void AffineKernel(Floats x, Floats y, int count, float scale, float shift)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX) y[i] = scale * x[i] + shift;
    }

    private static void AxpyKernel(Floats x, Floats y, int count, float alpha)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX) y[i] += alpha * x[i];
    }

    /// <summary>y[c] = sum over rows of x[r, c]. A group owns `lanes` adjacent columns (coalesced reads) and splits the
    /// rows among its remaining threads.</summary>
    private static void ColumnSumKernel(Floats x, Floats y, int rows, int cols, int lanes)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        int lane = Group.IdxX % lanes, col = Grid.IdxX * lanes + lane;
        float sum = 0f;
        if (col < cols)
            for (int r = Group.IdxX / lanes; r < rows; r += Group.DimX / lanes) sum += x[(long)r * cols + col];
        sum = ColumnTotal(scratch, sum, lanes);
        if (Group.IdxX < lanes && col < cols) y[col] = sum;
    }

    /// <summary>Each group's share of sum x[i] (or of x[i]² when <paramref name="square"/> is 1).</summary>
    private static void SumKernel(Floats x, Floats partials, int count, int square)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        float sum = 0f;
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float value = x[i];
            sum += square != 0 ? value * value : value;
        }
        sum = GroupSum(scratch, sum);
        if (Group.IdxX == 0) partials[Grid.IdxX] = sum;
    }

    // GELU (tanh form) = x * sigmoid(2u), with the constants of GeluConstants.
    private static float GeluSigmoid(float x) =>
        1f / (1f + XMath.Exp(-GeluConstants.TwoSqrtTwoOverPi * (x + GeluConstants.Cubic * x * x * x)));

    private static void GeluKernel(Floats x, Floats y, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float v = x[i];
            y[i] = v * GeluSigmoid(v);
        }
    }

    private static void GeluBackwardKernel(Floats x, Floats dy, Floats dx, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float v = x[i], s = GeluSigmoid(v);
            float du = GeluConstants.TwoSqrtTwoOverPi * (1f + GeluConstants.CubicSlope * v * v);
            dx[i] = dy[i] * (s + v * s * (1f - s) * du);
        }
    }

    // DropoutHash is plain ulong arithmetic, so the kernel calls the very function the CPU backend uses: same masks.
    private static void DropoutKernel(Floats x, Floats y, Floats keep, int count, float p, ulong seed)
    {
        float scale = 1f / (1f - p);
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float k = DropoutHash.Uniform(seed, i) >= p ? scale : 0f;
            keep[i] = k;
            y[i] = x[i] * k;
        }
    }

    private static void SwiGluKernel(Floats gate, Floats up, Floats y, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float g = gate[i];
            y[i] = g / (1f + XMath.Exp(-g)) * up[i];
        }
    }

    private static void SwiGluBackwardKernel(Floats gate, Floats up, Floats dy, Floats dGate, Floats dUp, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            float g = gate[i], s = 1f / (1f + XMath.Exp(-g)), d = dy[i];
            // silu'(g) = s + g s (1 - s)
            dUp[i] = d * g * s;
            dGate[i] = d * up[i] * (s + g * s * (1f - s));
        }
    }
}
