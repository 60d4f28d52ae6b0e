namespace HardFocus.Engine.Backends;

/// <summary>
/// A block of memory owned by one backend. Ops never look inside: only the backend that allocated it reads or
/// writes its elements, and host transfers go through <see cref="IBackend.Upload{T}"/> / <see cref="IBackend.Download{T}"/>.
/// Buffers are reference counted so that views (reshapes) can share one; the last release hands it back to the pool.
/// A buffer can also be a slice of another (<see cref="Slice"/>): a sub-range that kernels see as a buffer of its own.
/// </summary>
public abstract class DeviceBuffer<T> where T : unmanaged
{
    private readonly DeviceBuffer<T>? _parent;
    private int _references = 1;

    protected DeviceBuffer(IBackend backend, int length)
    {
        Backend = backend;
        Length = length;
    }

    /// <summary>A slice of <paramref name="parent"/>, which the caller has retained for it.</summary>
    protected DeviceBuffer(DeviceBuffer<T> parent, int length) : this(parent.Backend, length) => _parent = parent;

    public IBackend Backend { get; }

    /// <summary>Number of elements (not bytes).</summary>
    public int Length { get; }

    public bool IsReleased => Volatile.Read(ref _references) <= 0;

    /// <summary>Elements [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) of this buffer as a
    /// buffer of their own, sharing the memory. The slice holds a reference to this buffer, so the memory outlives it; its
    /// last release releases that reference instead of recycling anything.</summary>
    public DeviceBuffer<T> Slice(int offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Elements [{offset}, {(long)offset + length}) are not inside a buffer of {Length}.");
        Retain();
        return CreateSlice(offset, length);
    }

    /// <summary>The backend's own kind of buffer over the sub-range, made with the slice constructor.</summary>
    protected abstract DeviceBuffer<T> CreateSlice(int offset, int length);

    internal void Retain()
    {
        if (Interlocked.Increment(ref _references) <= 1)
            throw new InvalidOperationException("A released buffer cannot be retained again.");
    }

    /// <summary>Drops one reference; the last one returns the memory to the backend's pool (or, for a slice, lets go of
    /// the buffer it was cut from).</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            if (_parent != null) _parent.Release();
            else Backend.Recycle(this);
        }
        else if (left < 0) throw new InvalidOperationException("Buffer released more often than it was retained.");
    }

    /// <summary>Called by the pool when a recycled buffer is handed out again.</summary>
    internal void Revive() => Volatile.Write(ref _references, 1);
}
