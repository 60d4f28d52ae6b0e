using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace HardFocus.Engine.IO;

/// <summary>One named tensor on the host. <c>Data.Length</c> must equal the product of <c>Shape</c> (1 for the scalar shape []).</summary>
public sealed record SafetensorsEntry(string Name, int[] Shape, float[] Data);

/// <summary>The tensors of a safetensors file, ordered by data offset (see <see cref="Safetensors.Read"/>).</summary>
public sealed class SafetensorsFile
{
    private readonly Dictionary<string, SafetensorsEntry> byName;

    internal SafetensorsFile(IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Entries = entries;
        Metadata = metadata;
        byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public SafetensorsEntry this[string name] =>
        byName.TryGetValue(name, out var entry) ? entry : throw new KeyNotFoundException($"No tensor named '{name}' in the safetensors file.");

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SafetensorsEntry entry) =>
        byName.TryGetValue(name, out entry);
}

/// <summary>A file that does not follow the safetensors format; the message names the file and the problem.</summary>
public sealed class SafetensorsFormatException(string filePath, string problem, Exception? inner = null)
    : Exception($"Invalid safetensors file '{filePath}': {problem}", inner)
{
    public string FilePath { get; } = filePath;
    public string Problem { get; } = problem;
}

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header size N, N bytes of UTF-8 JSON, then the byte buffer that the entries' data_offsets point into.
/// </summary>
public static class Safetensors
{
    /// <summary>Same limit as the reference implementation: larger headers are treated as corrupt.</summary>
    public const int MaxHeaderSize = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const int ChunkBytes = 1 << 20;

    /// <summary>
    /// Writes all entries as little-endian F32 in the given order (header keys and data offsets follow it), with an
    /// optional <c>__metadata__</c> map written first (omitted when null or empty). The header is space-padded so the data starts 8-byte aligned.
    /// The file is written to a temp file beside <paramref name="path"/>, flushed to disk and renamed over it, so a
    /// failure leaves any existing file untouched and no temp file behind.
    /// </summary>
    /// <exception cref="ArgumentException">An entry has an empty, reserved or duplicate name, a negative dimension,
    /// or Data whose length does not match its shape.</exception>
    public static void Write(string path, IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(entries);
        var validated = ValidateForWrite(entries);
        var header = BuildHeader(validated, metadata);

        var fullPath = Path.GetFullPath(path);
        var tempPath = Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                WriteValidated(stream, validated, header);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tempPath, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(tempPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// Writes the same bytes as <see cref="Write(string, IReadOnlyList{SafetensorsEntry}, IReadOnlyDictionary{string, string}?)"/>
    /// into <paramref name="stream"/>, for a caller that owns the file's temporary name, flushing and renaming.
    /// The stream is neither flushed nor closed.
    /// </summary>
    public static void Write(Stream stream, IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(entries);
        var validated = ValidateForWrite(entries);
        WriteValidated(stream, validated, BuildHeader(validated, metadata));
    }

    private static void WriteValidated(Stream stream, SafetensorsEntry[] entries, byte[] header)
    {
        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)header.Length);
        stream.Write(size);
        stream.Write(header);
        foreach (var entry in entries)
            WriteF32(stream, entry.Data);
    }

    /// <summary>
    /// Reads every tensor, converting F32, F16, BF16 and F64 to float32. The whole file is validated against the
    /// format before any tensor data is read. Entries are ordered by data offset (the order they were written in);
    /// empty tensors sharing an offset keep their header order.
    /// </summary>
    /// <exception cref="SafetensorsFormatException">The file is not a valid safetensors file, or holds a dtype other than those above.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

        long fileLength = stream.Length;
        if (fileLength < 8)
            throw Fail(path, $"the file is {fileLength} bytes long, shorter than the 8-byte header size prefix.");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerSize > MaxHeaderSize)
            throw Fail(path, $"header size {headerSize} exceeds the {MaxHeaderSize}-byte limit.");
        if (headerSize > (ulong)(fileLength - 8))
            throw Fail(path, $"header size {headerSize} is larger than the {fileLength - 8} bytes that follow the size prefix.");

        var headerBytes = new byte[headerSize];
        stream.ReadExactly(headerBytes);
        long bufferLength = fileLength - 8 - (long)headerSize;
        var (tensors, metadata) = ParseHeader(path, headerBytes, bufferLength);

        var entries = new SafetensorsEntry[tensors.Count];
        byte[]? chunk = null;
        try
        {
            for (int i = 0; i < tensors.Count; i++)
            {
                var t = tensors[i];
                var data = GC.AllocateUninitializedArray<float>(t.Count); // fully overwritten below, so skip zeroing
                if (t.DType == DType.F32)
                    ReadF32(stream, data);
                else
                    ReadConverted(stream, t.DType, data, chunk ??= ArrayPool<byte>.Shared.Rent(ChunkBytes));
                entries[i] = new SafetensorsEntry(t.Name, t.Shape, data);
            }
        }
        catch (EndOfStreamException e)
        {
            throw Fail(path, "the file ended while reading tensor data (was it truncated while being read?).", e);
        }
        finally
        {
            if (chunk != null) ArrayPool<byte>.Shared.Return(chunk);
        }
        return new SafetensorsFile(entries, metadata);
    }

    private enum DType { F32, F16, BF16, F64 }

    private static int SizeOf(DType d) => d switch { DType.F16 or DType.BF16 => 2, DType.F32 => 4, _ => 8 };

    private sealed record TensorHeader(string Name, DType DType, int[] Shape, int Count, long Begin, long End);

    private static SafetensorsFormatException Fail(string path, string problem, Exception? inner = null) => new(path, problem, inner);

    private static (List<TensorHeader>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long bufferLength)
    {
        // JsonDocument only checks string contents when they are read, so validate all of it up front.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw Fail(path, "the header is not valid UTF-8.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw Fail(path, $"the header is not valid JSON ({e.Message})", e); }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Fail(path, $"the header is a JSON {root.ValueKind}, not a JSON object.");

            var tensors = new List<TensorHeader>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            if (!JsonText.IsText(root))
                throw Fail(path, $"the header: {JsonText.Problem}");
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Fail(path, $"duplicate header key '{property.Name}'.");
                if (property.Name == MetadataKey)
                    ParseMetadata(path, property.Value, metadata);
                else
                    tensors.Add(ParseTensor(path, property.Name, property.Value));
            }

            // The reference requires the tensors to tile the buffer exactly: sorted by offset, each starts where the
            // previous ended, and the last ends at the end of the file. Stable sort keeps header order among empties.
            var ordered = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
            long expected = 0;
            string previous = "the start of the data buffer";
            foreach (var t in ordered)
            {
                if (t.End > bufferLength)
                    throw Fail(path, $"tensor '{t.Name}' has data_offsets [{t.Begin}, {t.End}] beyond the end of the {bufferLength}-byte data buffer.");
                if (t.Begin < expected)
                    throw Fail(path, $"tensor '{t.Name}' at data_offsets [{t.Begin}, {t.End}] overlaps {previous}, which ends at {expected}.");
                if (t.Begin > expected)
                    throw Fail(path, $"the data buffer has a hole: bytes [{expected}, {t.Begin}) between {previous} and tensor '{t.Name}' belong to no tensor.");
                expected = t.End;
                previous = $"tensor '{t.Name}'";
            }
            if (expected != bufferLength)
                throw Fail(path, $"the data buffer is {bufferLength} bytes but the tensors cover only {expected}; the trailing {bufferLength - expected} bytes belong to no tensor.");
            return (ordered, metadata);
        }
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return; // the reference (serde Option) reads null as "no metadata"
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(path, $"'{MetadataKey}' must be a JSON object of string values, not a JSON {value.ValueKind}.");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Fail(path, $"'{MetadataKey}' value for key '{item.Name}' must be a string, not a JSON {item.Value.ValueKind}.");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Fail(path, $"'{MetadataKey}' has the key '{item.Name}' more than once.");
        }
    }

    private static TensorHeader ParseTensor(string path, string name, JsonElement value)
    {
        SafetensorsFormatException Bad(string problem) => Fail(path, $"tensor '{name}': {problem}");

        if (value.ValueKind != JsonValueKind.Object)
            throw Bad($"the entry must be a JSON object, not a JSON {value.ValueKind}.");
        JsonElement Field(string key, JsonValueKind kind)
        {
            if (!value.TryGetProperty(key, out var field))
                throw Bad($"the entry is missing '{key}'.");
            if (field.ValueKind != kind)
                throw Bad($"'{key}' must be a JSON {kind}, not a JSON {field.ValueKind}.");
            return field;
        }
        long Integer(string key, JsonElement e) =>
            e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long v) ? v : throw Bad($"'{key}' must hold integers, but has {e.GetRawText()}.");

        var dtypeName = Field("dtype", JsonValueKind.String).GetString()!;
        var shapeJson = Field("shape", JsonValueKind.Array);
        var offsetsJson = Field("data_offsets", JsonValueKind.Array);

        var shape = new int[shapeJson.GetArrayLength()];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long dim = Integer("shape", shapeJson[i]);
            if (dim < 0)
                throw Bad($"shape has the negative dimension {dim}.");
            if (dim > Array.MaxLength || (count *= dim) > Array.MaxLength)
                throw Bad($"shape [{string.Join(", ", shapeJson.EnumerateArray())}] has a dimension or element count larger than a .NET array can hold.");
            shape[i] = (int)dim;
        }

        if (offsetsJson.GetArrayLength() != 2)
            throw Bad($"'data_offsets' must have exactly 2 values [begin, end], but has {offsetsJson.GetArrayLength()}.");
        long begin = Integer("data_offsets", offsetsJson[0]), end = Integer("data_offsets", offsetsJson[1]);
        if (begin < 0 || end < begin)
            throw Bad($"data_offsets [{begin}, {end}] must satisfy 0 <= begin <= end.");

        DType dtype = dtypeName switch
        {
            "F32" => DType.F32,
            "F16" => DType.F16,
            "BF16" => DType.BF16,
            "F64" => DType.F64,
            _ => throw Bad($"unsupported dtype '{dtypeName}' (supported: F32, F16, BF16, F64)."),
        };
        long bytes = count * SizeOf(dtype);
        if (end - begin != bytes)
            throw Bad($"data_offsets [{begin}, {end}] span {end - begin} bytes, but shape [{string.Join(", ", shape)}] of {dtypeName} needs {bytes}.");
        return new TensorHeader(name, dtype, shape, (int)count, begin, end);
    }

    private static void ReadF32(Stream stream, float[] data)
    {
        var bytes = MemoryMarshal.AsBytes(data.AsSpan());
        stream.ReadExactly(bytes);
        if (!BitConverter.IsLittleEndian)
        {
            var bits = MemoryMarshal.Cast<float, int>(data.AsSpan());
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }
    }

    private static void ReadConverted(Stream stream, DType dtype, float[] data, byte[] chunk)
    {
        int size = SizeOf(dtype), perChunk = chunk.Length / size;
        for (int done = 0; done < data.Length; done += perChunk)
        {
            int n = Math.Min(perChunk, data.Length - done);
            var src = chunk.AsSpan(0, n * size);
            stream.ReadExactly(src);
            if (!BitConverter.IsLittleEndian)
                ToNativeOrder(src, size);
            var dst = data.AsSpan(done, n);
            switch (dtype)
            {
                case DType.F16:
                    TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);
                    break;
                case DType.BF16:
                    Bf16ToSingle(MemoryMarshal.Cast<byte, ushort>(src), dst);
                    break;
                default:
                    TensorPrimitives.ConvertTruncating<double, float>(MemoryMarshal.Cast<byte, double>(src), dst);
                    break;
            }
        }
    }

    /// <summary>The file is little endian; only big-endian hosts need the swap.</summary>
    private static void ToNativeOrder(Span<byte> bytes, int size)
    {
        if (size == 2) { var s = MemoryMarshal.Cast<byte, ushort>(bytes); BinaryPrimitives.ReverseEndianness(s, s); }
        else { var s = MemoryMarshal.Cast<byte, ulong>(bytes); BinaryPrimitives.ReverseEndianness(s, s); }
    }

    /// <summary>BF16 is the high half of a float32, so widening and shifting left by 16 is exact.</summary>
    private static void Bf16ToSingle(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        var bits = MemoryMarshal.Cast<float, uint>(dst);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= src.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector.Widen(new Vector<ushort>(src[i..]), out var low, out var high);
                (low << 16).CopyTo(bits[i..]);
                (high << 16).CopyTo(bits[(i + Vector<uint>.Count)..]);
            }
        }
        for (; i < src.Length; i++)
            bits[i] = (uint)src[i] << 16;
    }

    private static void WriteF32(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            for (int done = 0; done < data.Length; done += ChunkBytes / 4)
            {
                int n = Math.Min(ChunkBytes / 4, data.Length - done);
                BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(data.AsSpan(done, n)), MemoryMarshal.Cast<byte, int>(chunk.AsSpan(0, n * 4)));
                stream.Write(chunk, 0, n * 4);
            }
        }
        finally { ArrayPool<byte>.Shared.Return(chunk); }
    }

    private static SafetensorsEntry[] ValidateForWrite(IReadOnlyList<SafetensorsEntry> entries)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var result = new SafetensorsEntry[entries.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var e = entries[i] ?? throw new ArgumentException($"Entry {i} is null.", nameof(entries));
            if (string.IsNullOrEmpty(e.Name))
                throw new ArgumentException($"Entry {i} has an empty name.", nameof(entries));
            if (e.Name == MetadataKey)
                throw new ArgumentException($"Entry {i} uses the reserved name '{MetadataKey}'.", nameof(entries));
            if (!names.Add(e.Name))
                throw new ArgumentException($"Duplicate tensor name '{e.Name}'.", nameof(entries));
            if (e.Shape is null || e.Data is null)
                throw new ArgumentException($"Tensor '{e.Name}' has a null Shape or Data.", nameof(entries));
            long count = 1;
            foreach (int dim in e.Shape)
            {
                if (dim < 0)
                    throw new ArgumentException($"Tensor '{e.Name}' has the negative dimension {dim}.", nameof(entries));
                count = Math.Min(count * dim, long.MaxValue / int.MaxValue); // clamp: no overflow, still != any array length
            }
            if (count != e.Data.Length)
                throw new ArgumentException($"Tensor '{e.Name}' has shape [{string.Join(", ", e.Shape)}] ({count} elements) but Data holds {e.Data.Length}.", nameof(entries));
            result[i] = e;
        }
        return result;
    }

    private static byte[] BuildHeader(SafetensorsEntry[] entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names as raw UTF-8, like the reference writer.
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                    w.WriteString(key, value ?? throw new ArgumentException($"Metadata value for '{key}' is null.", nameof(metadata)));
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int dim in e.Shape) w.WriteNumberValue(dim);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset += 4L * e.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces (valid trailing JSON whitespace) so the data section starts 8-byte aligned.
        int padded = (json.WrittenCount + 7) & ~7;
        var header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }
}
