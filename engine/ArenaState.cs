using HardFocus.Engine.Backends;

namespace HardFocus.Engine;

/// <summary>Per-parameter state in one flat buffer laid out like a <see cref="ParameterArena"/>: <see cref="Tensors"/> holds
/// one view per parameter, in the arena's order, and the flat buffer lives as long as they do.</summary>
public sealed record ArenaState(DeviceBuffer<float> Flat, IReadOnlyList<Tensor> Tensors);
