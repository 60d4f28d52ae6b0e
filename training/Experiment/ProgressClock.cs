namespace HardFocus.Training.Experiment;

/// <summary>Time left from the work done in this invocation: arms already finished before it cost nothing now.</summary>
public sealed class ProgressClock(double totalCost)
{
    private readonly System.Diagnostics.Stopwatch _watch = System.Diagnostics.Stopwatch.StartNew();
    private double _done;

    public void Finished(Arm arm, int from) => _done += arm.Cost * (arm.Options.Steps - from) / arm.Options.Steps;

    /// <summary>Elapsed time and the estimate of what is left, mid-way through <paramref name="arm"/>.</summary>
    public (TimeSpan Elapsed, TimeSpan? Left) Estimate(Arm arm, int from, int step)
    {
        double done = _done + arm.Cost * (step - from) / arm.Options.Steps;
        if (done <= 0 || _watch.Elapsed.TotalSeconds < 1) return (_watch.Elapsed, null);
        return (_watch.Elapsed, TimeSpan.FromSeconds(_watch.Elapsed.TotalSeconds * Math.Max(0, totalCost - done) / done));
    }
}
