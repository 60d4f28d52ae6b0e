using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace HardFocus.Engine.Backends.Ilgpu;

/// <summary>
/// Device allocation with one second chance. The pool keeps idle buffers of every shape a run has used, so after a shape
/// change (a longer evaluation batch, a bigger pool of samples) the device can be full of buffers nobody needs: freeing
/// them and trying once more turns that case from a crash into a slower first step.
/// </summary>
internal static class OutOfMemoryRetry
{
    public static TBuffer Allocate<TBuffer>(Func<TBuffer> allocate, Action freeIdleBuffers, long bytes, string device)
    {
        try { return allocate(); }
        catch (Exception first) when (IsOutOfMemory(first))
        {
            freeIdleBuffers();
            try { return allocate(); }
            catch (Exception second) when (IsOutOfMemory(second))
            {
                throw new DeviceOutOfMemoryException(
                    $"out of memory on {device}: a buffer of {Describe(bytes)} did not fit, even after freeing every idle pooled buffer; " +
                    "use a smaller batch, sequence length or model", second);
            }
        }
    }

    /// <summary>What each runtime throws when device (or, for the emulator, host) memory runs out.</summary>
    public static bool IsOutOfMemory(Exception e) => e switch
    {
        OutOfMemoryException => true,
        // ILGPU keeps a CUDA error as text: the enum's name, with the driver's own wording ("out of memory") in the message.
        CudaException cuda => cuda.Error == nameof(CudaError.CUDA_ERROR_OUT_OF_MEMORY)
            || cuda.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase),
        CLException cl => cl.Error is CLError.CL_MEM_OBJECT_ALLOCATION_FAILURE or CLError.CL_OUT_OF_RESOURCES or CLError.CL_OUT_OF_HOST_MEMORY,
        _ => false,
    };

    public static string Describe(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB ({bytes} bytes)",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB ({bytes} bytes)",
        _ => $"{bytes} bytes",
    };
}
