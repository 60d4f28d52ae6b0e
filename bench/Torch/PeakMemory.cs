namespace HardFocus.Bench.Torch;

/// <summary>
/// The process's peak resident memory over a stretch of work, from Linux's VmHWM, which writing 5 to
/// /proc/self/clear_refs resets to the current resident size. Both sides share one process, so a side's figure is
/// the peak while its own steps ran, and the growth is that peak less the resident size when they started.
/// </summary>
internal static class PeakMemory
{
    public static bool Available => File.Exists("/proc/self/clear_refs");

    public static void Reset()
    {
        if (!Available) return;
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { } // unsupported kernels refuse it; the peak then covers the whole run so far
    }

    public static long ResidentBytes() => Field("VmRSS:");
    public static long PeakBytes() => Field("VmHWM:");

    private static long Field(string name)
    {
        if (!File.Exists("/proc/self/status")) return 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(name, StringComparison.Ordinal))
                return long.Parse(line[name.Length..].Trim().Split(' ')[0]) * 1024; // kB
        return 0;
    }
}
