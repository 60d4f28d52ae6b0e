using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using HardFocus.Engine.IO;

namespace HardFocus.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hf-safetensors-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    private static void AssertSameBits(float[] expected, float[] actual) =>
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));

    [Fact]
    public void RoundTrip_KeepsNamesShapesOrderAndExactBits()
    {
        var entries = new SafetensorsEntry[]
        {
            new("layer.0/weight", [2, 3], [1, -2, 3.5f, float.NaN, float.PositiveInfinity, -0f]),
            new("scalar", [], [42.25f]),
            new("empty", [3, 0, 2], []),
            new("wé\"ird name", [4], [float.Epsilon, float.MaxValue, float.MinValue, 1e-30f]),
        };
        var path = PathOf("model.safetensors");
        Safetensors.Write(path, entries);

        var file = Safetensors.Read(path);
        Assert.Equal(entries.Select(e => e.Name), file.Entries.Select(e => e.Name));
        foreach (var e in entries)
        {
            Assert.Equal(e.Shape, file[e.Name].Shape);
            AssertSameBits(e.Data, file[e.Name].Data);
        }
        Assert.Empty(file.Metadata);
        Assert.True(file.TryGet("scalar", out var scalar) && scalar.Data is [42.25f]);
        Assert.False(file.TryGet("missing", out _));
        Assert.Throws<KeyNotFoundException>(() => file["missing"]);
    }

    [Fact]
    public void RoundTrip_NoEntries()
    {
        var path = PathOf("empty.safetensors");
        Safetensors.Write(path, []);
        Assert.Empty(Safetensors.Read(path).Entries);
    }

    [Fact]
    public void RoundTrip_Metadata()
    {
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"\n", ["empty"] = "" };
        var path = PathOf("meta.safetensors");
        Safetensors.Write(path, [new("x", [1], [1f])], metadata);

        var file = Safetensors.Read(path);
        Assert.Equal(metadata.OrderBy(kv => kv.Key), file.Metadata.OrderBy(kv => kv.Key));
        Assert.Equal(["x"], file.Entries.Select(e => e.Name));
    }

    [Fact]
    public void Header_IsSpacePaddedSoDataStartsEightByteAligned()
    {
        for (int nameLength = 1; nameLength <= 16; nameLength++)
        {
            var path = PathOf($"aligned{nameLength}.safetensors");
            Safetensors.Write(path, [new(new string('n', nameLength), [2], [1.5f, -2f]), new("b", [], [3f])], new Dictionary<string, string> { ["k"] = "v" });

            var bytes = File.ReadAllBytes(path);
            var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0, (8 + n) % 8);
            var header = Encoding.UTF8.GetString(bytes, 8, n);
            Assert.Equal(header.TrimEnd(' ').Length, header.TrimEnd().Length); // padding is spaces only
            Assert.True(n - header.TrimEnd(' ').Length < 8);
            Assert.Equal(8 + n + 12, bytes.Length);
            Assert.Equal(1.5f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + n)));

            using var json = JsonDocument.Parse(header);
            Assert.Equal(["__metadata__", new string('n', nameLength), "b"], json.RootElement.EnumerateObject().Select(p => p.Name));
            var b = json.RootElement.GetProperty("b");
            Assert.Equal("F32", b.GetProperty("dtype").GetString());
            Assert.Equal(0, b.GetProperty("shape").GetArrayLength());
            Assert.Equal([8L, 12L], b.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()));
        }
    }

    [Fact]
    public void Read_HandBuiltFile_ConvertsEveryDtypeAndOrdersByDataOffset()
    {
        // 1.5, -2.0, 0.25 in each dtype, little endian: F32 3FC00000 C0000000 3E800000, F16 3E00 C000 3400,
        // BF16 3FC0 C000 3E80, F64 3FF8000000000000 C000000000000000 3FD0000000000000.
        var buffer = Convert.FromHexString(
            "0000C03F" + "000000C0" + "0000803E" +
            "003E" + "00C0" + "0034" +
            "C03F" + "00C0" + "803E" +
            "000000000000F83F" + "00000000000000C0" + "000000000000D03F");
        var header = """
            {"bf16": {"dtype": "BF16", "shape": [3], "data_offsets": [18, 24]},
             "__metadata__": {"source": "hand"},
             "f64": {"dtype": "F64", "shape": [1, 3], "data_offsets": [24, 48]},
             "f32": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
             "f16": {"dtype": "F16", "shape": [3, 1], "data_offsets": [12, 18], "extra": "ignored"}}
            """ + "     ";
        var path = PathOf("hand.safetensors");
        File.WriteAllBytes(path, SafetensorsBytes.Build(header, buffer));

        var file = Safetensors.Read(path);
        Assert.Equal(["f32", "f16", "bf16", "f64"], file.Entries.Select(e => e.Name));
        foreach (var e in file.Entries)
            AssertSameBits([1.5f, -2f, 0.25f], e.Data);
        Assert.Equal([3, 1], file["f16"].Shape);
        Assert.Equal([1, 3], file["f64"].Shape);
        Assert.Equal("hand", file.Metadata["source"]);
    }

    [Fact]
    public void Read_LargeHalfAndBFloat16_MatchScalarConversionAcrossChunks()
    {
        const int count = 700_001; // > one 1 MiB chunk of 2-byte values, odd so the scalar tail runs too
        var buffer = new byte[2 * count * 2];
        for (int i = 0; i < 2 * count; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(2 * i), (ushort)(i * 7919));
        var header = $$$"""
            {"h": {"dtype": "F16", "shape": [{{{count}}}], "data_offsets": [0, {{{2 * count}}}]},
             "b": {"dtype": "BF16", "shape": [{{{count}}}], "data_offsets": [{{{2 * count}}}, {{{4 * count}}}]}}
            """;
        var path = PathOf("large.safetensors");
        File.WriteAllBytes(path, SafetensorsBytes.Build(header, buffer));

        var file = Safetensors.Read(path);
        ushort Bits(int i) => BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(2 * i));
        AssertSameBits(Enumerable.Range(0, count).Select(i => (float)BitConverter.UInt16BitsToHalf(Bits(i))).ToArray(), file["h"].Data);
        AssertSameBits(Enumerable.Range(0, count).Select(i => BitConverter.Int32BitsToSingle(Bits(count + i) << 16)).ToArray(), file["b"].Data);
    }

    private const string A = """ "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]} """;

    private static readonly Dictionary<string, (byte[] File, string Problem)> InvalidFiles = new()
    {
        ["short file"] = (new byte[5], "shorter than the 8-byte header size prefix"),
        ["header larger than file"] = (SafetensorsBytes.Build(Encoding.UTF8.GetBytes("{}"), [], headerSize: 1000), "header size 1000 is larger than the 2 bytes"),
        ["absurd header size"] = (SafetensorsBytes.Build(Encoding.UTF8.GetBytes("{}"), [], headerSize: 200_000_000), "exceeds the 100000000-byte limit"),
        ["max u64 header size"] = (SafetensorsBytes.Build(Encoding.UTF8.GetBytes("{}"), [], headerSize: ulong.MaxValue), "exceeds the 100000000-byte limit"),
        ["invalid json"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32",""", []), "the header is not valid JSON"),
        ["invalid utf8"] = (SafetensorsBytes.Build([(byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []), "the header is not valid UTF-8"),
        ["header not object"] = (SafetensorsBytes.Build("[1, 2]", []), "is a JSON Array, not a JSON object"),
        ["entry not object"] = (SafetensorsBytes.Build("""{"a": 3}""", []), "tensor 'a': the entry must be a JSON object"),
        ["missing dtype"] = (SafetensorsBytes.Build("""{"a": {"shape": [2], "data_offsets": [0, 8]}}""", new byte[8]), "tensor 'a': the entry is missing 'dtype'"),
        ["missing shape"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "data_offsets": [0, 8]}}""", new byte[8]), "missing 'shape'"),
        ["missing data_offsets"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [2]}}""", new byte[8]), "missing 'data_offsets'"),
        ["dtype not string"] = (SafetensorsBytes.Build("""{"a": {"dtype": 4, "shape": [2], "data_offsets": [0, 8]}}""", new byte[8]), "'dtype' must be a JSON String"),
        ["shape not array"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}}""", new byte[8]), "'shape' must be a JSON Array"),
        ["shape not integer"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}""", new byte[8]), "'shape' must hold integers"),
        ["offsets not integer"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": ["0", 8]}}""", new byte[8]), "'data_offsets' must hold integers"),
        ["negative dim"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}""", new byte[8]), "negative dimension -2"),
        ["too many elements"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 8]}}""", new byte[8]), "larger than a .NET array can hold"),
        ["three offsets"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 16]}}""", new byte[8]), "exactly 2 values"),
        ["reversed offsets"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}""", new byte[8]), "0 <= begin <= end"),
        ["unsupported dtype"] = (SafetensorsBytes.Build("""{"a": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]}}""", new byte[8]), "unsupported dtype 'I32'"),
        ["size mismatch"] = (SafetensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}""", new byte[8]), "span 8 bytes, but shape [3] of F32 needs 12"),
        ["offsets beyond buffer"] = (SafetensorsBytes.Build("{" + A + "}", new byte[4]), "beyond the end of the 4-byte data buffer"),
        ["overlap"] = (SafetensorsBytes.Build("{" + A + """, "b": {"dtype": "F16", "shape": [4], "data_offsets": [4, 12]}}""", new byte[12]), "tensor 'b' at data_offsets [4, 12] overlaps tensor 'a'"),
        ["hole"] = (SafetensorsBytes.Build("{" + A + """, "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}""", new byte[20]), "hole: bytes [8, 12)"),
        ["trailing bytes"] = (SafetensorsBytes.Build("{" + A + "}", new byte[12]), "the trailing 4 bytes belong to no tensor"),
        ["metadata not object"] = (SafetensorsBytes.Build("""{"__metadata__": ["x"]}""", []), "'__metadata__' must be a JSON object"),
        ["metadata value not string"] = (SafetensorsBytes.Build("""{"__metadata__": {"k": 1}}""", []), "'__metadata__' value for key 'k' must be a string"),
        ["duplicate name"] = (SafetensorsBytes.Build("{" + A + "," + A + "}", new byte[16]), "duplicate header key 'a'"),
    };

    public static TheoryData<string> InvalidFileNames => new(InvalidFiles.Keys);

    [Theory]
    [MemberData(nameof(InvalidFileNames))]
    public void Read_InvalidFile_ThrowsFormatExceptionNamingFileAndProblem(string name)
    {
        var (bytes, problem) = InvalidFiles[name];
        var path = PathOf("bad.safetensors");
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(path));
        Assert.Contains(problem, e.Message);
        Assert.Contains(path, e.Message);
    }

    public static TheoryData<string, SafetensorsEntry[], string> InvalidEntries => new()
    {
        { "empty name", [new("", [1], [1f])], "empty name" },
        { "reserved name", [new("__metadata__", [1], [1f])], "reserved name" },
        { "duplicate name", [new("a", [1], [1f]), new("a", [1], [2f])], "Duplicate tensor name 'a'" },
        { "negative dim", [new("a", [-1], [])], "negative dimension -1" },
        { "length mismatch", [new("a", [2, 2], [1f, 2f, 3f])], "shape [2, 2] (4 elements) but Data holds 3" },
    };

    [Theory]
    [MemberData(nameof(InvalidEntries))]
    public void Write_InvalidEntries_ThrowsAndLeavesExistingFileIntact(string name, SafetensorsEntry[] entries, string problem)
    {
        _ = name;
        var path = PathOf("keep.safetensors");
        Safetensors.Write(path, [new("old", [2], [1f, 2f])]);
        var before = File.ReadAllBytes(path);

        var e = Assert.Throws<ArgumentException>(() => Safetensors.Write(path, entries));
        Assert.Contains(problem, e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Write_FailingRename_RemovesTempFile()
    {
        var path = PathOf("is-a-directory");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "inside.txt"), "keep");

        Assert.NotNull(Record.Exception(() => Safetensors.Write(path, [new("a", [1], [1f])])));
        Assert.Equal([path], Directory.GetFileSystemEntries(dir));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(path, "inside.txt")));
    }

    [Fact]
    public void Write_OverExistingFile_ReplacesItWithoutLeftovers()
    {
        var path = PathOf("replace.safetensors");
        Safetensors.Write(path, [new("old", [3], [1f, 2f, 3f])]);
        Safetensors.Write(path, [new("new", [1], [9f])]);

        Assert.Equal(["new"], Safetensors.Read(path).Entries.Select(e => e.Name));
        Assert.Equal([path], Directory.GetFileSystemEntries(dir));
    }
}
