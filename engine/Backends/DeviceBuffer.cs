namespace HardFocus.Engine.Backends;

/// <summary>
/// A block of memory owned by one backend. Ops never look inside: only the backend that allocated it reads or
/// writes its elements, and host transfers go through <see cref="IBackend.Upload{T}"/> / <see cref="IBackend.Download{T}"/>.
/// Buffers are reference counted so that views (reshapes) can share one; the last release hands it back to the pool.
/// </summary>
public abstract class DeviceBuffer<T> where T : unmanaged
{
    private int _references = 1;

    protected DeviceBuffer(IBackend backend, int length)
    {
        Backend = backend;
        Length = length;
    }

    public IBackend Backend { get; }

    /// <summary>Number of elements (not bytes).</summary>
    public int Length { get; }

    public bool IsReleased => Volatile.Read(ref _references) <= 0;

    internal void Retain()
    {
        if (Interlocked.Increment(ref _references) <= 1)
            throw new InvalidOperationException("A released buffer cannot be retained again.");
    }

    /// <summary>Drops one reference; the last one returns the memory to the backend's pool.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0) Backend.Recycle(this);
        else if (left < 0) throw new InvalidOperationException("Buffer released more often than it was retained.");
    }

    /// <summary>Called by the pool when a recycled buffer is handed out again.</summary>
    internal void Revive() => Volatile.Write(ref _references, 1);
}
