using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;

namespace HardFocus.Engine;

/// <summary>
/// A float32, contiguous, row-major tensor whose elements live in a backend's buffer. It remembers the op that made
/// it (for reverse-mode autograd) and, once <see cref="Backward()"/> has run, holds its gradient in <see cref="Grad"/>.
/// Element access always goes through an explicit host transfer (<see cref="ToArray"/>, <see cref="FromArray"/>).
/// </summary>
public sealed class Tensor : IDisposable
{
    /// <summary>Backend for tensors created without naming one. The SIMD CPU backend unless changed.</summary>
    public static IBackend DefaultBackend { get; set; } = CpuBackend.Shared;

    private DeviceBuffer<float>? _buffer;
    // Once the tensor is gathered into a ParameterArena: its slice of the arena's gradient buffer, which Grad then always is.
    private Tensor? _gradientHome;
    // ZeroGrad leaves the last gradient in the home, since the next first contribution overwrites it; the home is zeroed
    // only when a kernel over the whole arena needs this parameter's absent gradient as zeros (ZeroHomeIfStale).
    private bool _homeHoldsZeros;
    // Whether an op holds the home to write the first contribution into (NewGradContribution) and has not handed it back.
    private bool _homeLent;

    private Tensor(Shape shape, DeviceBuffer<float> buffer, bool track)
    {
        if (buffer.Length < shape.Size) throw new ArgumentException($"Buffer of {buffer.Length} elements is too small for {shape}.");
        Shape = shape;
        _buffer = buffer;
        if (track) TensorScope.Track(this);
    }

    public Shape Shape { get; }
    public int Length => Shape.Size;
    public int Rank => Shape.Rank;

    public DeviceBuffer<float> Buffer => _buffer ?? throw new ObjectDisposedException(nameof(Tensor), "The tensor was disposed (its scope ended?).");
    public IBackend Backend => Buffer.Backend;
    public bool IsDisposed => _buffer == null;

    /// <summary>Set on leaves (parameters) to ask for their gradient; ops set it on outputs of inputs that need one.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>Keep the gradient of this intermediate after backward (leaves always keep theirs).</summary>
    public bool RetainGrad { get; set; }

    public Tensor? Grad { get; internal set; }

    /// <summary>The arena this parameter was gathered into, and its place there; null for every other tensor.</summary>
    internal ParameterArena? Arena { get; private set; }
    internal int ArenaIndex { get; private set; }

    internal Node? Node { get; set; }
    public bool IsLeaf => Node == null;
    public string? Name { get; set; }

    // ---- creation ---------------------------------------------------------------------------------------------------

    /// <summary>A tensor with undefined contents, owned by the current scope. Ops use this for their outputs.</summary>
    public static Tensor Empty(Shape shape, IBackend? backend = null) =>
        new(shape, (backend ?? DefaultBackend).Allocate<float>(shape.Size), track: true);

    /// <summary>Like <see cref="Empty"/> but owned by no scope: gradients and long-lived state.</summary>
    internal static Tensor EmptyUntracked(Shape shape, IBackend backend) =>
        new(shape, backend.Allocate<float>(shape.Size), track: false);

    public static Tensor Full(Shape shape, float value, IBackend? backend = null)
    {
        var t = Empty(shape, backend);
        t.Backend.Fill(t.Buffer, value, t.Length);
        return t;
    }

    public static Tensor Zeros(Shape shape, IBackend? backend = null) => Full(shape, 0f, backend);
    public static Tensor Ones(Shape shape, IBackend? backend = null) => Full(shape, 1f, backend);
    public static Tensor Scalar(float value, IBackend? backend = null) => Full(new Shape(1), value, backend);

    public static Tensor FromArray(ReadOnlySpan<float> data, Shape shape, IBackend? backend = null)
    {
        if (data.Length != shape.Size) throw new ArgumentException($"{data.Length} values do not fill shape {shape}.");
        var t = Empty(shape, backend);
        t.Backend.Upload(data, t.Buffer);
        return t;
    }

    public static Tensor FromArray(float[] data, params int[] shape) => FromArray(data, new Shape(shape));

    /// <summary>Normal(0, std) values drawn on the host from <paramref name="rng"/>, so every backend gets the same.</summary>
    public static Tensor RandomNormal(Shape shape, Rng rng, float std = 1f, IBackend? backend = null)
    {
        var host = new float[shape.Size];
        for (int i = 0; i < host.Length; i++) host[i] = rng.NextGaussian() * std;
        return FromArray(host, shape, backend);
    }

    /// <summary>A trainable leaf that no scope owns: it lives until disposed.</summary>
    public static Tensor Parameter(ReadOnlySpan<float> data, Shape shape, IBackend? backend = null)
    {
        var t = Persistent(data, shape, backend);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>A tensor that no scope owns (loaded weights, optimizer state): it lives until disposed.</summary>
    public static Tensor Persistent(ReadOnlySpan<float> data, Shape shape, IBackend? backend = null)
    {
        if (data.Length != shape.Size) throw new ArgumentException($"{data.Length} values do not fill shape {shape}.");
        var b = backend ?? DefaultBackend;
        var t = EmptyUntracked(shape, b);
        b.Upload(data, t.Buffer);
        return t;
    }

    /// <summary>An untracked tensor over <paramref name="buffer"/>, taking over the caller's reference to it.</summary>
    internal static Tensor Over(DeviceBuffer<float> buffer, Shape shape) => new(shape, buffer, track: false);

    /// <summary>A view with another shape over the same buffer (no copy).</summary>
    internal Tensor ShareWithShape(Shape shape)
    {
        if (shape.Size != Length) throw new ArgumentException($"Cannot view {Shape} as {shape}: sizes differ.");
        Buffer.Retain();
        return new Tensor(shape, Buffer, track: true);
    }

    internal Tensor CloneUntracked()
    {
        var copy = EmptyUntracked(Shape, Backend);
        Backend.Copy(Buffer, copy.Buffer, Length);
        return copy;
    }

    // ---- host transfer ----------------------------------------------------------------------------------------------

    public float[] ToArray()
    {
        var host = new float[Length];
        Backend.Download(Buffer, host);
        return host;
    }

    public void CopyTo(Span<float> destination)
    {
        if (destination.Length != Length) throw new ArgumentException($"Destination holds {destination.Length} values, tensor {Length}.");
        Backend.Download(Buffer, destination);
    }

    public void CopyFrom(ReadOnlySpan<float> source)
    {
        if (source.Length != Length) throw new ArgumentException($"Source holds {source.Length} values, tensor {Length}.");
        Backend.Upload(source, Buffer);
    }

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Length != 1) throw new InvalidOperationException($"Item() needs one element; the tensor has shape {Shape}.");
        Span<float> one = stackalloc float[1];
        Backend.Download(Buffer, one);
        return one[0];
    }

    // ---- autograd ---------------------------------------------------------------------------------------------------

    /// <summary>Backward from a one-element output (seed 1).</summary>
    public void Backward()
    {
        if (Length != 1) throw new InvalidOperationException($"Backward() needs a one-element output; use Backward(seed) for shape {Shape}.");
        using var seed = Full(Shape, 1f, Backend);
        BackwardPass.Run(this, seed);
    }

    /// <summary>Backward with an explicit upstream gradient of this tensor's shape (for example per-sample weights).</summary>
    public void Backward(Tensor seed) => BackwardPass.Run(this, seed);

    /// <summary>A buffer for an op to write a gradient contribution to this tensor into and hand to <see cref="AccumulateGrad"/>:
    /// for a parameter in an arena that has no gradient yet, its home itself, so that backward writes the gradient where it
    /// lives instead of into a buffer that would then be copied there; otherwise a fresh untracked tensor.</summary>
    internal Tensor NewGradContribution()
    {
        if (_gradientHome == null || Grad != null || _homeLent || !RequiresGrad) return EmptyUntracked(Shape, Backend);
        _homeLent = true;
        _homeHoldsZeros = false;
        _gradientHome.Buffer.Retain();
        return Over(_gradientHome.Buffer, Shape);
    }

    /// <summary>Adds <paramref name="contribution"/> (an untracked tensor the caller hands over) into <see cref="Grad"/>.</summary>
    internal void AccumulateGrad(Tensor contribution)
    {
        if (contribution.Shape != Shape) throw new InvalidOperationException($"Gradient of shape {contribution.Shape} for a tensor of shape {Shape}.");
        if (_gradientHome != null && ReferenceEquals(contribution.Buffer, _gradientHome.Buffer))
        {
            ReturnHome(contribution);
            return;
        }
        if (Grad == null && (_gradientHome == null || _homeLent))
        {
            // Adopted as it is; with the home out, it waits there until the home comes back.
            Grad = contribution;
            return;
        }
        if (Grad == null)
        {
            // A contribution made elsewhere is copied into the home as it is: the same values adopting it would give.
            Backend.Copy(contribution.Buffer, _gradientHome!.Buffer, Length);
            Grad = _gradientHome;
            _homeHoldsZeros = false;
        }
        else Backend.AxpyAccumulate(1f, contribution.Buffer, Grad.Buffer, Length);
        contribution.Dispose();
    }

    /// <summary>The home comes back holding the first contribution. A contribution that arrived while it was out (from an op
    /// that makes two contributions to one tensor before handing either over) is added to it.</summary>
    private void ReturnHome(Tensor lent)
    {
        lent.Dispose();
        _homeLent = false;
        var waiting = Grad;
        Grad = _gradientHome;
        if (waiting == null) return;
        Backend.AxpyAccumulate(1f, waiting.Buffer, Grad!.Buffer, Length);
        waiting.Dispose();
    }

    /// <summary>Forgets the gradient (the optimizer's zero_grad): the buffer goes back to the pool, or, for a parameter in
    /// an arena, stays in its home until the next gradient overwrites it.</summary>
    public void ZeroGrad()
    {
        if (!ReferenceEquals(Grad, _gradientHome)) Grad?.Dispose();
        Grad = null;
        _homeLent = false;
    }

    /// <summary>Zeroes the home of a parameter without a gradient if an earlier gradient was left there.</summary>
    internal void ZeroHomeIfStale()
    {
        if (Grad != null || _gradientHome == null || _homeHoldsZeros || _homeLent) return;
        Backend.Fill(_gradientHome.Buffer, 0f, Length);
        _homeHoldsZeros = true;
    }

    /// <summary>Moves this parameter into <paramref name="arena"/>: its values into <paramref name="values"/> (a slice of the
    /// arena's value buffer that the tensor takes over), its gradient, if it has one, into <paramref name="gradientHome"/>
    /// (a zeroed slice of the gradient buffer, where every later gradient goes).</summary>
    internal void MoveInto(ParameterArena arena, int index, DeviceBuffer<float> values, Tensor gradientHome)
    {
        Backend.Copy(Buffer, values, Length);
        Buffer.Release();
        _buffer = values;
        if (Grad != null)
        {
            Backend.Copy(Grad.Buffer, gradientHome.Buffer, Length);
            Grad.Dispose();
            Grad = gradientHome;
        }
        _gradientHome = gradientHome;
        _homeHoldsZeros = Grad == null;
        _homeLent = false;
        Arena = arena;
        ArenaIndex = index;
    }

    /// <summary>A tensor with the same values that the graph does not see through.</summary>
    public Tensor Detach() => ShareWithShape(Shape);

    public void Dispose()
    {
        if (_buffer == null) return;
        Grad?.Dispose();
        Grad = null;
        _gradientHome?.Dispose();
        _gradientHome = null;
        Node = null;
        _buffer.Release();
        _buffer = null;
    }

    public override string ToString() => $"Tensor{Shape}{(Name is null ? "" : " " + Name)}{(RequiresGrad ? " requires_grad" : "")}";

    // ---- operators (the math lives in Ops) ----------------------------------------------------------------------------
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Subtract(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Multiply(a, b);
    public static Tensor operator *(Tensor a, float s) => Ops.Scale(a, s);
    public static Tensor operator *(float s, Tensor a) => Ops.Scale(a, s);
    public static Tensor operator +(Tensor a, float s) => Ops.AddScalar(a, s);
    public static Tensor operator -(Tensor a) => Ops.Scale(a, -1f);
}
