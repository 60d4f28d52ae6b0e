using HardFocus.Engine.Backends.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;

namespace HardFocus.Bench.GpuCheck;

/// <summary>
/// Every OpenCL device the driver lists, with ILGPU's own device filter turned off: each one either runs the kernel table
/// or is reported with the exact reason ILGPU refuses it (typically an OpenCL without the generic address space, such as
/// NVIDIA's OpenCL 3.0 or PoCL 3.1). A refusal is information, not a failure; a kernel that fails parity is.
/// </summary>
internal static class OpenClCheck
{
    public static bool Run(bool quick, TextWriter output)
    {
        IlgpuDriverLibraries.Register();
        Context context;
        try { context = Context.Create(b => b.OpenCL(_ => true).EnableAlgorithms()); }
        catch (Exception e)
        {
            output.WriteLine($"opencl: no OpenCL runtime could be opened ({e.GetType().Name}: {e.Message}); skipped");
            return true;
        }
        using (context)
        {
            var devices = new List<CLDevice>();
            foreach (var device in context.GetCLDevices()) devices.Add(device);
            if (devices.Count == 0)
            {
                output.WriteLine("opencl: no OpenCL device present; skipped");
                return true;
            }
            bool allPassed = true;
            for (int i = 0; i < devices.Count; i++)
            {
                var device = devices[i];
                string name = $"opencl:{i} {device.Name} ({device.DeviceVersion}, {device.PlatformName})";
                Accelerator accelerator;
                try { accelerator = device.CreateAccelerator(context); }
                catch (Exception e)
                {
                    output.WriteLine($"{name}: refused by ILGPU: {e.Message}");
                    continue;
                }
                using var backend = new IlgpuBackend(accelerator, ownsContext: false);
                output.WriteLine($"{name}: accepted by ILGPU");
                allPassed &= KernelParityReport.Run(backend, quick, output);
            }
            return allPassed;
        }
    }
}
