using System.Diagnostics;

namespace HardFocus.Bench.Torch;

/// <summary>Time spent in each phase of a training step, summed over the steps it timed (compare --profile).</summary>
internal sealed class StepTimer
{
    private readonly Stopwatch _clock = new();
    private readonly Dictionary<string, double> _seconds = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public void Start() => _clock.Restart();

    /// <summary>Charges the time since the last lap (or Start) to <paramref name="phase"/>.</summary>
    public void Lap(string phase)
    {
        double elapsed = _clock.Elapsed.TotalSeconds;
        _clock.Restart();
        if (!_seconds.ContainsKey(phase)) _order.Add(phase);
        _seconds[phase] = _seconds.GetValueOrDefault(phase) + elapsed;
    }

    public IEnumerable<(string Phase, double Seconds)> Phases => _order.Select(p => (p, _seconds[p]));
}
