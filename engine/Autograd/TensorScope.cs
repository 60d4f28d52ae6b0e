namespace HardFocus.Engine.Autograd;

/// <summary>
/// Owns every tensor created on this thread while it is the innermost scope and releases their buffers to the pool
/// when disposed. A training step runs inside one, so activations and their gradients are recycled every step
/// while parameters, their gradients and optimizer state (created outside any scope) live on.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;

    private readonly TensorScope? _parent;
    private readonly List<IDisposable> _owned = new();
    private bool _disposed;

    private TensorScope()
    {
        _parent = _current;
        _current = this;
    }

    public static TensorScope Begin() => new();

    internal static void Track(IDisposable tensor) => _current?._owned.Add(tensor);

    /// <summary>Hands <paramref name="tensor"/> to the enclosing scope (or to nobody) so it outlives this one.</summary>
    public T Keep<T>(T tensor) where T : class, IDisposable
    {
        int at = _owned.LastIndexOf(tensor);
        if (at < 0) throw new InvalidOperationException("The tensor does not belong to this scope.");
        _owned.RemoveAt(at);
        _parent?._owned.Add(tensor);
        return tensor;
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (_current != this) throw new InvalidOperationException("Tensor scopes must be disposed innermost first.");
        _disposed = true;
        _current = _parent;
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
    }
}
