using System.Buffers.Binary;
using System.Text;

namespace HardFocus.Bench.Torch;

/// <summary>
/// Reads and edits the version-need table (.gnu.version_r) of a 64-bit little-endian ELF shared library: the symbol
/// versions it requires from each library it links against. The dynamic loader refuses to load a library that
/// requires a version its dependency lacks, even when no symbol still uses that version.
/// </summary>
internal static class ElfVersionNeeds
{
    private const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>The versions required from <paramref name="library"/> (for instance "libstdc++.so.6").</summary>
    public static IReadOnlyList<string> Required(string path, string library) =>
        Walk(File.ReadAllBytes(path), library).Select(aux => aux.Name).ToList();

    /// <summary>Makes the requirement of <paramref name="missing"/> from <paramref name="library"/> a requirement of
    /// <paramref name="present"/> instead, by copying that entry's name offset and ELF hash. Both must already be
    /// required by the file, so no string is added. Returns false when <paramref name="missing"/> is not required.</summary>
    public static bool Retarget(string path, string library, string missing, string present)
    {
        var bytes = File.ReadAllBytes(path);
        var entries = Walk(bytes, library);
        var from = entries.FirstOrDefault(e => e.Name == missing);
        if (from.Name == null) return false;
        var to = entries.FirstOrDefault(e => e.Name == present);
        if (to.Name == null) throw new InvalidDataException($"{Path.GetFileName(path)} requires no {present} from {library} to stand in for {missing}.");
        // Vernaux: vna_hash (4), vna_flags (2), vna_other (2), vna_name (4), vna_next (4). The index (vna_other) stays,
        // so the version table of the symbols still parses; no symbol refers to it once its version is cleared.
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(from.Offset), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(to.Offset)));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(from.Offset + 8), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(to.Offset + 8)));
        File.WriteAllBytes(path, bytes);
        return true;
    }

    private readonly record struct Aux(string Name, int Offset);

    private static List<Aux> Walk(byte[] elf, string library)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file.");
        var span = elf.AsSpan();
        long shoff = (long)U64(span, 0x28);
        int shentsize = U16(span, 0x3a), shnum = U16(span, 0x3c);
        var result = new List<Aux>();
        for (int s = 0; s < shnum; s++)
        {
            int sh = checked((int)(shoff + (long)s * shentsize));
            if (U32(span, sh + 4) != ShtGnuVerneed) continue;
            int offset = checked((int)U64(span, sh + 0x18));
            int link = (int)U32(span, sh + 0x28);
            int strtab = checked((int)U64(span, checked((int)(shoff + (long)link * shentsize)) + 0x18));
            // Verneed: vn_version (2), vn_cnt (2), vn_file (4), vn_aux (4), vn_next (4).
            for (int need = offset; ; )
            {
                int count = U16(span, need + 2);
                string file = Str(span, strtab + (int)U32(span, need + 4));
                if (file == library)
                    for (int aux = need + (int)U32(span, need + 8), i = 0; i < count; i++)
                    {
                        result.Add(new Aux(Str(span, strtab + (int)U32(span, aux + 8)), aux));
                        uint nextAux = U32(span, aux + 12);
                        if (nextAux == 0) break;
                        aux += (int)nextAux;
                    }
                uint next = U32(span, need + 12);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return result;
    }

    private static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);
    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);
    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);

    private static string Str(ReadOnlySpan<byte> b, int at)
    {
        int end = b[at..].IndexOf((byte)0);
        return Encoding.ASCII.GetString(b.Slice(at, end));
    }
}
