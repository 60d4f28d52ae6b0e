using System.Globalization;
using Spectre.Console;

namespace HardFocus.Training.Experiment;

/// <summary>Where an experiment shows its progress across all arms.</summary>
public interface IExperimentProgress
{
    /// <summary>Runs <paramref name="body"/> inside the display.</summary>
    void Run(Action<IArmProgress> body);
}

public interface IArmProgress
{
    void Begin(string arm, int fromStep, int totalSteps);
    void Step(int step, (TimeSpan Elapsed, TimeSpan? Left) time);
    void Finished(string summary);
}

/// <summary>A live display on a terminal (one bar for the current arm, with the whole experiment's elapsed and estimated
/// time left); plain lines, a few per arm, when output goes to a file or a pipe.</summary>
public sealed class ConsoleExperimentProgress : IExperimentProgress, IArmProgress
{
    private readonly bool _interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
    private ProgressContext? _context;
    private ProgressTask? _task;
    private string _arm = "";
    private int _total, _lastPrinted;

    public void Run(Action<IArmProgress> body)
    {
        if (!_interactive)
        {
            body(this);
            return;
        }
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
            .Start(ctx =>
            {
                _context = ctx;
                body(this);
            });
    }

    public void Begin(string arm, int fromStep, int totalSteps)
    {
        _arm = arm;
        _total = totalSteps;
        _lastPrinted = fromStep;
        string start = fromStep > 0 ? $"resuming at step {fromStep} of {totalSteps}" : $"training {totalSteps} steps";
        if (_context != null)
        {
            _task = _context.AddTask(Markup.Escape(arm), maxValue: totalSteps);
            _task.Value = fromStep;
        }
        else Console.WriteLine($"{arm}: {start}");
    }

    public void Step(int step, (TimeSpan Elapsed, TimeSpan? Left) time)
    {
        string clock = $"elapsed {Format(time.Elapsed)}, left {(time.Left is { } left ? "~" + Format(left) : "?")}";
        if (_task != null)
        {
            _task.Value = step;
            _task.Description = Markup.Escape($"{_arm}  step {step}/{_total}  {clock}");
            return;
        }
        // About four lines per arm: enough to see it move, few enough to read an experiment's log.
        if (step - _lastPrinted < Math.Max(1, _total / 4) || step == _total) return;
        _lastPrinted = step;
        Console.WriteLine($"{_arm}: step {step}/{_total}  {clock}");
    }

    public void Finished(string summary)
    {
        if (_task != null)
        {
            _task.Description = Markup.Escape(summary);
            _task.StopTask();
        }
        else Console.WriteLine(summary);
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:00}m")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m{t.Seconds:00}s");
}
