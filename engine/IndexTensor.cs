using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;

namespace HardFocus.Engine;

/// <summary>Int32 indices on a backend (token ids, targets). Never differentiated.</summary>
public sealed class IndexTensor : IDisposable
{
    private DeviceBuffer<int>? _buffer;

    private IndexTensor(Shape shape, DeviceBuffer<int> buffer)
    {
        Shape = shape;
        _buffer = buffer;
        TensorScope.Track(this);
    }

    public Shape Shape { get; }
    public int Length => Shape.Size;
    public DeviceBuffer<int> Buffer => _buffer ?? throw new ObjectDisposedException(nameof(IndexTensor));
    public IBackend Backend => Buffer.Backend;

    public static IndexTensor FromArray(ReadOnlySpan<int> data, Shape shape, IBackend? backend = null)
    {
        if (data.Length != shape.Size) throw new ArgumentException($"{data.Length} values do not fill shape {shape}.");
        var b = backend ?? Tensor.DefaultBackend;
        var t = new IndexTensor(shape, b.Allocate<int>(shape.Size));
        b.Upload(data, t.Buffer);
        return t;
    }

    public int[] ToArray()
    {
        var host = new int[Length];
        Backend.Download(Buffer, host);
        return host;
    }

    public void Dispose()
    {
        _buffer?.Release();
        _buffer = null;
    }
}
