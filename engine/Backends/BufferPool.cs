using System.Runtime.CompilerServices;

namespace HardFocus.Engine.Backends;

/// <summary>
/// Exact-size free lists of device buffers. Training steps repeat the same shapes, so exact matching gives full reuse
/// after the first step without the fragmentation of size classes; <see cref="Trim"/> frees what a shape change
/// left behind.
/// </summary>
public sealed class BufferPool
{
    private readonly object _gate = new();
    private readonly Dictionary<(Type Type, int Length), Stack<(object Buffer, long Bytes)>> _free = new();
    private long _fresh, _rents, _recycles, _bytesHeld;

    public BufferPoolStats Stats
    {
        get { lock (_gate) return new BufferPoolStats(_fresh, _rents, _recycles, _bytesHeld); }
    }

    public DeviceBuffer<T> Rent<T>(int length, Func<int, DeviceBuffer<T>> allocate) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        lock (_gate)
        {
            _rents++;
            if (_free.TryGetValue((typeof(T), length), out var stack) && stack.Count > 0)
            {
                var reused = (DeviceBuffer<T>)stack.Pop().Buffer;
                reused.Revive();
                return reused;
            }
        }
        // Counted only once the memory exists: a failed allocation holds nothing.
        var fresh = allocate(length);
        lock (_gate)
        {
            _fresh++;
            _bytesHeld += (long)length * Unsafe.SizeOf<T>();
        }
        return fresh;
    }

    public void Return<T>(DeviceBuffer<T> buffer) where T : unmanaged
    {
        lock (_gate)
        {
            _recycles++;
            var key = (typeof(T), buffer.Length);
            if (!_free.TryGetValue(key, out var stack)) _free[key] = stack = new Stack<(object, long)>();
            stack.Push((buffer, (long)buffer.Length * Unsafe.SizeOf<T>()));
        }
    }

    /// <summary>Drops every idle buffer, calling <paramref name="free"/> on each (device memory is released there).</summary>
    public void Trim(Action<object> free)
    {
        lock (_gate)
        {
            foreach (var stack in _free.Values)
                while (stack.Count > 0)
                {
                    var (buffer, bytes) = stack.Pop();
                    _bytesHeld -= bytes;
                    free(buffer);
                }
            _free.Clear();
        }
    }
}
