namespace HardFocus.Engine;

/// <summary>An immutable list of dimensions of a contiguous row-major tensor.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[] _dims;

    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long size = 1;
        foreach (int d in dims)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape {Format(dims)}.");
            size *= d;
            if (size > int.MaxValue) throw new ArgumentException($"Shape {Format(dims)} has more than 2^31 elements.");
        }
        _dims = (int[])dims.Clone();
        Size = (int)size;
    }

    public int Rank => _dims.Length;
    public int Size { get; }
    public int this[int axis] => _dims[axis < 0 ? axis + _dims.Length : axis];
    public ReadOnlySpan<int> Dims => _dims;
    public int Last => _dims.Length == 0 ? 1 : _dims[^1];

    /// <summary>Product of all dimensions but the last: the number of rows a row kernel sees.</summary>
    public int Rows => Last == 0 ? 0 : Size / Last;

    public int[] ToArray() => (int[])_dims.Clone();

    /// <summary>True when <paramref name="suffix"/> equals the trailing dimensions of this shape.</summary>
    public bool EndsWith(Shape suffix) =>
        suffix.Rank <= Rank && _dims.AsSpan(Rank - suffix.Rank).SequenceEqual(suffix._dims);

    public bool Equals(Shape other) => _dims.AsSpan().SequenceEqual(other._dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int d in _dims) hash.Add(d);
        return hash.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);
    public static implicit operator Shape(int[] dims) => new(dims);
    public override string ToString() => Format(_dims);
    private static string Format(int[] dims) => "[" + string.Join(", ", dims) + "]";
}
