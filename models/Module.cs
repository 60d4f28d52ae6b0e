using HardFocus.Engine;

namespace HardFocus.Models;

/// <summary>
/// A tree of named parameters and submodules, as in PyTorch: names join with dots ("h.0.attn.q_proj.weight"), and
/// the state dict is every parameter under its full name.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Tensor Parameter)> _parameters = new();
    private readonly List<(string Name, Module Child)> _children = new();

    protected Tensor RegisterParameter(string name, Tensor parameter)
    {
        parameter.Name = name;
        _parameters.Add((name, parameter));
        return parameter;
    }

    protected T RegisterModule<T>(string name, T child) where T : Module
    {
        _children.Add((name, child));
        return child;
    }

    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var p in _parameters) yield return p;
        foreach (var (prefix, child) in _children)
            foreach (var (name, parameter) in child.NamedParameters())
                yield return ($"{prefix}.{name}", parameter);
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    public long ParameterCount() => Parameters().Sum(p => (long)p.Length);

    /// <summary>Every parameter under its full name, in registration order (the order files are written in).</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> StateDict() =>
        NamedParameters().Select(p => KeyValuePair.Create(p.Name, p.Parameter)).ToList();

    /// <summary>Copies values in by name. Every parameter must be present with its exact shape; unknown names are an
    /// error too, so a mismatched checkpoint never half-loads.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, (int[] Shape, float[] Data)> values)
    {
        var named = NamedParameters().ToList();
        var known = named.Select(p => p.Name).ToHashSet();
        var unknown = values.Keys.Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0) throw new InvalidDataException($"Unexpected tensor '{unknown[0]}' in the checkpoint ({unknown.Count} unknown).");
        foreach (var (name, parameter) in named)
        {
            if (!values.TryGetValue(name, out var value)) throw new InvalidDataException($"The checkpoint has no tensor '{name}'.");
            if (new Shape(value.Shape) != parameter.Shape)
                throw new InvalidDataException($"Tensor '{name}' has shape {new Shape(value.Shape)} in the checkpoint but {parameter.Shape} in the model.");
        }
        foreach (var (name, parameter) in named) parameter.CopyFrom(values[name].Data);
    }

    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    public void Dispose()
    {
        foreach (var p in Parameters()) p.Dispose();
        GC.SuppressFinalize(this);
    }
}
