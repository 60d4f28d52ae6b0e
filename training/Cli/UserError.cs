namespace HardFocus.Training.Cli;

/// <summary>A problem with what the user asked for: printed as one line, exit code 2.</summary>
public sealed class UserError(string message) : Exception(message);
