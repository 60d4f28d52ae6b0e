using HardFocus.Engine.Backends.Ilgpu;

namespace HardFocus.Bench.GpuCheck;

/// <summary>
/// `HardFocus.Bench gpu-check`: kernel parity against the CPU backend, attention timings, then training and GEMM
/// throughput, on one ILGPU device; then the kernel table on every OpenCL device present, or the reason ILGPU refuses it.
/// Meant to be published self-contained and carried to a GPU machine that has no .NET SDK (bench/gpu-check.sh).
/// Exit codes: 0 all good, 1 a kernel failed parity, 2 bad arguments or no such device, 3 a preset failed to train.
/// </summary>
internal static class GpuCheckCommand
{
    public const string Name = "gpu-check";

    private const string Usage =
        "usage: HardFocus.Bench gpu-check [--device cuda|opencl|ilgpu-cpu] [--quick] [--steps N]\n" +
        "  --device  ILGPU device to check (default cuda)\n" +
        "  --quick   tiny kernel shapes and the tiny model only (for the ilgpu-cpu emulator)\n" +
        "  --steps   timed training steps per preset (default 10, 2 with --quick)";

    public static int Run(string[] args)
    {
        string device = IlgpuDevices.Cuda;
        bool quick = false;
        int? steps = null;
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--device" when value is IlgpuDevices.Cuda or IlgpuDevices.OpenCL or IlgpuDevices.Cpu:
                    device = value;
                    i++;
                    break;
                case "--steps" when int.TryParse(value, out int n) && n > 0:
                    steps = n;
                    i++;
                    break;
                case "--quick":
                    quick = true;
                    break;
                default:
                    string what = args[i] is "--device" or "--steps" ? $"{args[i]} '{value}'" : $"argument '{args[i]}'";
                    Console.Error.WriteLine($"gpu-check: unexpected {what}\n{Usage}");
                    return 2;
            }
        }

        IlgpuBackend backend;
        try { backend = IlgpuBackend.Create(device); }
        catch (Exception e)
        {
            // One line, no stack trace: on a machine without the device this is the expected outcome.
            Console.Error.WriteLine($"gpu-check: cannot open --device {device}: {e.Message}");
            return 2;
        }
        using (backend)
        {
            Console.WriteLine($"gpu-check on {backend.Name}{(quick ? " (quick)" : "")}");
            bool parity = KernelParityReport.Run(backend, quick, Console.Out);
            backend.TrimPool();
            AttentionTiming.Run(backend, device, Console.Out);
            backend.TrimPool();
            bool trained = TrainingThroughput.Run(backend, quick, steps ?? (quick ? 2 : 10), Console.Out);
            GemmThroughput.Run(device, Console.Out);
            // The same table on any OpenCL device beside the one checked, or the reason ILGPU will not use it.
            if (device != IlgpuDevices.OpenCL) parity &= OpenClCheck.Run(quick, Console.Out);
            return !parity ? 1 : !trained ? 3 : 0;
        }
    }
}
