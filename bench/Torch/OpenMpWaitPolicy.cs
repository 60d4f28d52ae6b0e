using System.Runtime.InteropServices;

namespace HardFocus.Bench.Torch;

/// <summary>
/// libtorch's OpenMP threads spin while they wait for work by default. When the cores are shared (the two sides
/// take turns in one process, and other programs may run) a spinning thread holds a core that the thread it waits
/// for needs: on a loaded 2-core machine that made TorchSharp's steps about 4x slower, its AdamW over 20x (measured
/// with compare, see bench/RESULTS.md). Passive waiting is the fair setting for the yardstick, so it is the default
/// here; an OMP_WAIT_POLICY the user set is kept. It must be in the native environment before libgomp starts, which
/// Environment.SetEnvironmentVariable does not reach on Linux.
/// </summary>
internal static partial class OpenMpWaitPolicy
{
    public static void PreferPassive()
    {
        if (OperatingSystem.IsLinux()) _ = SetEnv("OMP_WAIT_POLICY", "passive", overwrite: 0);
    }

    /// <summary>The value libgomp will see.</summary>
    public static string Current => Marshal.PtrToStringAnsi(GetEnv("OMP_WAIT_POLICY")) ?? "(unset)";

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);
}
