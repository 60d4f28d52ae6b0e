namespace HardFocus.Engine.Backends;

/// <summary>The counter-based uniform draw every backend uses for dropout, so masks agree across devices.</summary>
public static class DropoutHash
{
    public static float Uniform(ulong seed, int index) =>
        (Rng.Mix(seed ^ ((ulong)(uint)index * 0x9E3779B97F4A7C15UL)) >> 40) * (1.0f / (1 << 24));
}
