namespace HardFocus.Engine.Backends;

/// <summary>
/// The table a multi-tensor kernel walks over tensors stored in one flat buffer: an (offset, length, flag) triple of ints
/// per chunk, a chunk being at most <see cref="MaxChunkLength"/> consecutive elements of one tensor. Cutting large tensors
/// into chunks lets a GPU spread each over many groups of threads; the flag carries a per-tensor choice (for AdamW,
/// whether the tensor decays). Built once on the host and uploaded, so a launch reads it where the kernel runs.
/// </summary>
public sealed class ChunkTable : IDisposable
{
    public const int IntsPerChunk = 3;
    public const int MaxChunkLength = 1 << 16;

    private ChunkTable(DeviceBuffer<int> chunks, int count)
    {
        Chunks = chunks;
        Count = count;
    }

    public DeviceBuffer<int> Chunks { get; }
    public int Count { get; }

    /// <param name="tensors">Where each tensor lies in the flat buffer, and its flag.</param>
    public static ChunkTable Create(IBackend backend, IEnumerable<(int Offset, int Length, bool Flag)> tensors)
    {
        var table = new List<int>();
        foreach (var (offset, length, flag) in tensors)
            for (int start = 0; start < length; start += MaxChunkLength)
                table.AddRange([offset + start, Math.Min(MaxChunkLength, length - start), flag ? 1 : 0]);
        var chunks = backend.Allocate<int>(table.Count);
        backend.Upload<int>(table.ToArray(), chunks);
        return new ChunkTable(chunks, table.Count / IntsPerChunk);
    }

    public void Dispose() => Chunks.Release();
}
