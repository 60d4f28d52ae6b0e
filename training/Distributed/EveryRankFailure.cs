namespace HardFocus.Training.Distributed;

/// <summary>A failure that every rank reaches at the same moment from the same global values, such as divergence of
/// the global loss: under MPI only rank 0 prints it, instead of one identical line per rank.</summary>
public sealed class EveryRankFailure(string message) : InvalidOperationException(message);
