using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.Backends.Ilgpu;
using HardFocus.Models.Gpt;
using HardFocus.Training.Cli;
using HardFocus.Training.Data;

namespace HardFocus.Tests;

/// <summary>A bad token id and a full device: each gives one clear line, the same on every backend.</summary>
[Collection("ilgpu")]
public sealed class DeviceRobustnessTests(IlgpuFixture fixture)
{
    private IBackend Backend(string name) => name == "cpu" ? new CpuBackend() : fixture.Backend;

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu")]
    public void AnInputIdOutsideTheVocabulary_IsOneErrorBeforeAnyKernelRuns(string backend)
    {
        using var model = new GptModel(GptConfig.Tiny(256), Backend(backend), seed: 1);
        using var scope = TensorScope.Begin();
        var batch = new[] { new Sample([1, 2, 3], [2, 3, 4], [1f, 1f, 1f]), new Sample([5, 256, 7], [6, 7, 8], [1f, 1f, 1f]) };

        var error = Assert.Throws<InvalidDataException>(() => BatchTensors.Create(batch, model));

        Assert.Equal("Token id 256 (sample 1, position 1) is outside the model's vocabulary of 256; the tokenizer and the model do not match.", ErrorLine.Of(error));
        Assert.True(ErrorLine.IsUserFacing(error));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu")]
    public void TargetsAreCheckedWhereTheMaskScoresThem_AndNowhereElse(string backend)
    {
        using var model = new GptModel(GptConfig.Tiny(256), Backend(backend), seed: 1);
        using var scope = TensorScope.Begin();
        // Padding targets outside the vocabulary are fine where the mask is 0: they are never read.
        var padded = new[] { new Sample([1, 2, 3], [2, -1, 999], [1f, 0f, 0f]) };
        var (ids, targets, _) = BatchTensors.Create(padded, model);
        Assert.Equal([1, 2, 3], ids.ToArray());
        Assert.Equal([2, -1, 999], targets.ToArray());

        var scored = new[] { new Sample([1, 2, 3], [2, -1, 4], [1f, 1f, 1f]) };
        var error = Assert.Throws<InvalidDataException>(() => BatchTensors.Create(scored, model));
        Assert.StartsWith("Target id -1 (sample 0, position 1) is outside the model's vocabulary of 256", error.Message);
    }

    [Fact]
    public void AFullDevice_FreesIdleBuffersAndRetriesOnce()
    {
        int attempts = 0, trims = 0;
        string result = OutOfMemoryRetry.Allocate(() => ++attempts == 1 ? throw new OutOfMemoryException() : "buffer",
            () => trims++, 1024, "test device");

        Assert.Equal("buffer", result);
        Assert.Equal((2, 1), (attempts, trims));
    }

    [Fact]
    public void ADeviceStillFullAfterTheRetry_SaysHowMuchWasAskedFor_InOneLine()
    {
        int attempts = 0, trims = 0;
        var error = Assert.Throws<DeviceOutOfMemoryException>(() => OutOfMemoryRetry.Allocate<string>(
            () => { attempts++; throw new OutOfMemoryException(); }, () => trims++, 3L << 30, "test device"));

        Assert.Equal((2, 1), (attempts, trims));
        Assert.Equal("out of memory on test device: a buffer of 3 GiB (3221225472 bytes) did not fit, even after freeing every idle pooled buffer; " +
            "use a smaller batch, sequence length or model", ErrorLine.Of(error));
        Assert.True(ErrorLine.IsUserFacing(error));
    }

    [Fact]
    public void OtherAllocationFailures_AreNotRetried()
    {
        int attempts = 0, trims = 0;
        Assert.Throws<ArgumentException>(() => OutOfMemoryRetry.Allocate<string>(
            () => { attempts++; throw new ArgumentException("bad length"); }, () => trims++, 4, "test device"));
        Assert.Equal((1, 0), (attempts, trims));
    }

    [Fact]
    public void AFailedAllocation_LeavesThePoolCountersUntouched()
    {
        var pool = new BufferPool();
        Assert.Throws<OutOfMemoryException>(() => pool.Rent<float>(16, _ => throw new OutOfMemoryException()));
        Assert.Equal(0, pool.Stats.FreshAllocations);
        Assert.Equal(0, pool.Stats.BytesHeld);
    }
}
