namespace HardFocus.Bench.Torch;

/// <summary>Bad command-line input: printed as one error line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
