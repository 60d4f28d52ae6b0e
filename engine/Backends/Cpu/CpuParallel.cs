namespace HardFocus.Engine.Backends.Cpu;

/// <summary>Splits a range into a few contiguous chunks, one per core, and runs small ranges inline; or hands out many
/// small items as workers free up.</summary>
internal static class CpuParallel
{
    private static int _workers = Environment.ProcessorCount;

    /// <summary>Threads a kernel may use: every core unless <see cref="CpuBackend.Threads"/> says fewer, as when several
    /// processes share the machine.</summary>
    public static int Workers
    {
        get => _workers;
        set => _workers = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least one thread is needed.");
    }

    /// <summary>How many chunks <see cref="For(int,int,Action{int,int,int})"/> will use; fixed for a given machine and size,
    /// so reductions merged in chunk order are deterministic.</summary>
    public static int ChunkCount(int count, int minItemsPerChunk) =>
        Math.Max(1, Math.Min(Workers, count / Math.Max(1, minItemsPerChunk)));

    /// <param name="count">Items in the range.</param>
    /// <param name="minItemsPerChunk">Below this many items per chunk the Parallel.For overhead is not worth paying.</param>
    /// <param name="body">Receives (chunk index, start, end).</param>
    public static void For(int count, int minItemsPerChunk, Action<int, int, int> body)
    {
        int chunks = ChunkCount(count, minItemsPerChunk);
        if (chunks == 1)
        {
            if (count > 0) body(0, 0, count);
            return;
        }
        Parallel.For(0, chunks, c => body(c, (int)((long)count * c / chunks), (int)((long)count * (c + 1) / chunks)));
    }

    public static void For(int count, int minItemsPerChunk, Action<int, int> body) =>
        For(count, minItemsPerChunk, (_, start, end) => body(start, end));

    /// <summary>Runs <paramref name="body"/> on items 0 .. count - 1, handed out to the workers as they free up rather than
    /// split in advance: for many small items of uneven size whose results do not depend on which worker runs them.</summary>
    public static void ForEach(int count, Action<int> body) =>
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Workers }, body);
}
