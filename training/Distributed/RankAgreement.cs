using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace HardFocus.Training.Distributed;

/// <summary>
/// Checks, before the first step, that every rank is about to run the same training from the same state. Ranks that
/// differ (another command line on one of them, a run folder that is a different file on another machine) would
/// otherwise average gradients of different models, or wait forever in a collective the others never reach.
/// </summary>
public static class RankAgreement
{
    public static void Check(ICommunicator world, TrainingSession session)
    {
        var plan = world.AllGather(Fingerprint(w => w.Write(Encoding.UTF8.GetBytes(
            JsonSerializer.Serialize(session.State() with { Backend = "" }, RunFolder.Json)))));
        if (FirstDiffering(plan) is int r)
            throw new EveryRankFailure($"rank {r} was started with other options or at another step than rank 0: every rank must be given the same command line.");

        var weights = world.AllGather(Fingerprint(w =>
        {
            foreach (var p in session.Model.Parameters()) w.Write(MemoryMarshal.AsBytes(p.ToArray().AsSpan()));
            foreach (var (_, t) in session.Optimizer.State()) w.Write(MemoryMarshal.AsBytes(t.ToArray().AsSpan()));
        }));
        if (FirstDiffering(weights) is int s)
            throw new EveryRankFailure($"rank {s} starts from other weights than rank 0: the --init file or the run folder must hold the same bytes on every machine.");
    }

    private static int? FirstDiffering(ulong[] values)
    {
        for (int r = 1; r < values.Length; r++)
            if (values[r] != values[0]) return r;
        return null;
    }

    /// <summary>The first 64 bits of the SHA-256 of what <paramref name="write"/> writes.</summary>
    private static ulong Fingerprint(Action<Stream> write)
    {
        using var stream = new Sha256Stream(Stream.Null);
        write(stream);
        return Convert.ToUInt64(stream.Hex()[..16], 16);
    }
}
