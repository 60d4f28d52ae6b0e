using HardFocus.Engine.Backends;

namespace HardFocus.Engine;

/// <summary>
/// Parameters gathered into one flat buffer of values and one of gradients, each parameter a view of its slice of both, so
/// that a whole-model step is one launch each: the global norm is one reduction, clipping one scaling, AdamW one
/// multi-tensor kernel over a table of offsets (<see cref="ChunkTable"/>), a data-parallel gradient sum one transfer each
/// way. A GPU kernel cannot take a table of pointers; a table of offsets into one buffer it can.
/// <para>The parameters stay the same tensor objects, so modules keep their references; gathering copies their values
/// (and any gradients) in, and from then on backward puts each parameter's gradient into its slice of the gradient
/// buffer (its gradient home): the op that makes the first contribution writes it there (<see cref="Tensor.NewGradContribution"/>),
/// later ones are added. So the arena costs backward no extra pass, and zeroing the gradients needs no launch at all:
/// the next first contribution overwrites what a home holds. Only a parameter that gets no gradient in a step has its
/// home zeroed, when <see cref="Gradients"/> hands out the whole buffer. The flat buffers live as long as the parameters
/// do.</para>
/// </summary>
public sealed class ParameterArena
{
    private readonly Tensor[] _parameters;
    private readonly int[] _offsets;
    private readonly DeviceBuffer<float> _values, _gradients;

    private ParameterArena(Tensor[] parameters)
    {
        if (parameters.Length == 0) throw new ArgumentException("There are no parameters to gather.", nameof(parameters));
        _parameters = parameters;
        Backend = parameters[0].Backend;
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters)
        {
            if (!seen.Add(p)) throw new ArgumentException($"{p} is listed twice.", nameof(parameters));
            if (p.Arena != null) throw new InvalidOperationException($"{p} was already gathered with other parameters.");
            if (!p.IsLeaf) throw new ArgumentException($"{p} is computed by an op, not a parameter.", nameof(parameters));
            if (!ReferenceEquals(p.Backend, Backend))
                throw new ArgumentException($"Parameters live on different backends ({Backend.Name} and {p.Backend.Name}).", nameof(parameters));
        }
        long length = parameters.Sum(p => (long)p.Length);
        if (length > Array.MaxLength) throw new NotSupportedException($"{length:N0} parameter values do not fit one flat buffer.");
        Length = (int)length;
        _offsets = new int[parameters.Length];
        for (int i = 1; i < parameters.Length; i++) _offsets[i] = _offsets[i - 1] + parameters[i - 1].Length;

        _values = Backend.Allocate<float>(Length);
        _gradients = Backend.Allocate<float>(Length);
        Backend.Fill(_gradients, 0f, Length);
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var home = Tensor.Over(_gradients.Slice(_offsets[i], p.Length), p.Shape);
            p.MoveInto(this, i, _values.Slice(_offsets[i], p.Length), home);
        }
        // From here the parameters' slices hold the flat buffers: they go back to the pool when the last parameter is disposed.
        _values.Release();
        _gradients.Release();
        // The parameters' own buffers went back to the pool, where they would double the parameters' memory for good.
        Backend.TrimPool();
    }

    public IBackend Backend { get; }

    /// <summary>The parameters in the order they lie in the buffers.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>Elements in each flat buffer: every parameter's, end to end.</summary>
    public int Length { get; }

    /// <summary>Every parameter's values, end to end in <see cref="Parameters"/> order.</summary>
    public DeviceBuffer<float> Values => Live(_values);

    /// <summary>Every parameter's gradient, laid out like <see cref="Values"/>, with zeros for the parameters whose
    /// <see cref="Tensor.Grad"/> is null (their homes are zeroed here if an earlier gradient was left in them).</summary>
    public DeviceBuffer<float> Gradients()
    {
        var gradients = Live(_gradients);
        foreach (var p in _parameters) p.ZeroHomeIfStale();
        return gradients;
    }

    /// <summary>Where parameter <paramref name="index"/> (of <see cref="Parameters"/>) starts in the buffers.</summary>
    public int OffsetOf(int index) => _offsets[index];

    /// <summary>The place of <paramref name="parameter"/> in <see cref="Parameters"/>.</summary>
    public int IndexOf(Tensor parameter) =>
        ReferenceEquals(parameter.Arena, this) ? parameter.ArenaIndex : throw new ArgumentException($"{parameter} is not in this arena.", nameof(parameter));

    /// <summary>The arena holding exactly <paramref name="parameters"/> (in any order): the one they were gathered into, or,
    /// when none of them was gathered yet, a new one gathering them in the order given.</summary>
    public static ParameterArena Of(IEnumerable<Tensor> parameters)
    {
        var list = parameters as IReadOnlyList<Tensor> ?? parameters.ToList();
        return Holding(list) ?? new ParameterArena(list.ToArray());
    }

    /// <summary>The arena that holds exactly <paramref name="parameters"/> (in any order), or null when there is none.</summary>
    private static ParameterArena? Holding(IReadOnlyCollection<Tensor> parameters)
    {
        var arena = parameters.FirstOrDefault()?.Arena;
        if (arena == null || parameters.Count != arena._parameters.Length) return null;
        var seen = new bool[parameters.Count];
        foreach (var p in parameters)
        {
            if (!ReferenceEquals(p.Arena, arena) || seen[p.ArenaIndex]) return null;
            seen[p.ArenaIndex] = true;
        }
        return arena;
    }

    /// <summary>A zeroed buffer laid out like the arena, seen as one tensor per parameter: per-parameter state (an
    /// optimizer's moments) that one multi-tensor launch updates along with the parameters.</summary>
    public ArenaState CreateState()
    {
        var flat = Backend.Allocate<float>(Length);
        Backend.Fill(flat, 0f, Length);
        var tensors = new Tensor[_parameters.Length];
        for (int i = 0; i < tensors.Length; i++)
            tensors[i] = Tensor.Over(flat.Slice(_offsets[i], _parameters[i].Length), _parameters[i].Shape);
        flat.Release();
        return new ArenaState(flat, tensors);
    }

    private DeviceBuffer<float> Live(DeviceBuffer<float> buffer)
    {
        foreach (var p in _parameters)
            if (p.IsDisposed) throw new ObjectDisposedException(nameof(ParameterArena), $"{p} was disposed; its arena is gone with it.");
        return buffer;
    }
}
