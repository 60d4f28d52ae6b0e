using System.Runtime.InteropServices;

namespace HardFocus.Training.Cli;

/// <summary>
/// Ctrl-C (SIGINT) as a request to stop, for one command invocation however many runs it trains: the first cancels
/// <see cref="Token"/>, which training reads after every step to save a checkpoint and return; a second is left to
/// the default action, which ends the process at once. Checkpoints are written so that even a save cut short leaves
/// the previous one loadable.
/// </summary>
public sealed class CtrlC : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _registration;

    /// <param name="firstPress">What the first Ctrl-C does, told to the user while it happens; null says nothing (the
    /// data-parallel ranks other than rank 0, which speaks for them).</param>
    public CtrlC(string? firstPress)
    {
        _registration = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            if (_stop.IsCancellationRequested) return;
            context.Cancel = true;
            if (firstPress != null) Console.Error.WriteLine($"interrupt: {firstPress} (Ctrl-C again to quit at once)");
            _stop.Cancel();
        });
    }

    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        _registration.Dispose();
        _stop.Dispose();
    }
}
