using HardFocus.Engine;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Tests;

/// <summary>A slice of a device buffer is a buffer of its own over a sub-range of the parent, on both backends.</summary>
[Collection("ilgpu")]
public sealed class BufferSliceTests(IlgpuFixture fixture)
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu")]
    public void ASlice_ReadsAndWritesOnlyItsRange(string device)
    {
        IBackend backend = device == "cpu" ? new CpuBackend() : fixture.Backend;
        var parent = backend.Allocate<float>(10);
        backend.Upload<float>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], parent);
        var slice = parent.Slice(3, 4);

        var read = new float[4];
        backend.Download(slice, read);
        Assert.Equal([3f, 4, 5, 6], read);

        // A kernel sees the slice as a whole buffer: element 0 is the parent's element 3.
        backend.Affine(slice, slice, 4, 10f, 0f);
        backend.Upload<float>([-1f], slice);
        var all = new float[10];
        backend.Download(parent, all);
        Assert.Equal([0f, 1, 2, -1, 40, 50, 60, 7, 8, 9], all);
        slice.Release();
        parent.Release();
    }

    [Fact]
    public void ASlice_KeepsItsParentAlive_AndNeverGoesToThePool()
    {
        var backend = new CpuBackend();
        var parent = backend.Allocate<float>(8);
        var slice = parent.Slice(2, 2);
        parent.Release();
        Assert.False(parent.IsReleased);
        Assert.Equal(0, backend.PoolStats.Recycles);

        slice.Release();
        Assert.True(parent.IsReleased);
        Assert.Equal(1, backend.PoolStats.Recycles);
    }

    [Theory]
    [InlineData(-1, 2)]
    [InlineData(7, 2)]
    [InlineData(0, 9)]
    public void ARangeOutsideTheBuffer_IsRefused(int offset, int length)
    {
        var parent = new CpuBackend().Allocate<float>(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => parent.Slice(offset, length));
        Assert.False(parent.IsReleased);
    }
}
