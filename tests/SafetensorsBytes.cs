using System.Buffers.Binary;

namespace HardFocus.Tests;

/// <summary>A safetensors file laid out by hand: the 8-byte header length (or a claimed one), the JSON header, the data.</summary>
internal static class SafetensorsBytes
{
    public static byte[] Build(string header, byte[] buffer) => Build(System.Text.Encoding.UTF8.GetBytes(header), buffer);

    public static byte[] Build(byte[] header, byte[] buffer, ulong? headerSize = null)
    {
        var file = new byte[8 + header.Length + buffer.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, headerSize ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        buffer.CopyTo(file, 8 + header.Length);
        return file;
    }
}
