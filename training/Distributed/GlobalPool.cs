namespace HardFocus.Training.Distributed;

/// <summary>
/// Where each rank's samples sit in the global pool. A step's pool is <c>patience</c> global micro-batches of
/// <c>ranks x batch</c> samples, drawn exactly as a single process with that batch would draw them; rank r trains on
/// samples [r·batch, (r+1)·batch) of each. Losses are gathered rank by rank and put back in pool order, so every rank
/// computes the weights a single process would, over the same pool in the same order.
/// </summary>
public static class GlobalPool
{
    /// <summary>This rank's share of one global micro-batch.</summary>
    public static T[] Share<T>(T[] globalBatch, int rank, int ranks)
    {
        if (globalBatch.Length % ranks != 0)
            throw new ArgumentException($"A global batch of {globalBatch.Length} does not split evenly over {ranks} ranks.", nameof(globalBatch));
        int batch = globalBatch.Length / ranks;
        return globalBatch.AsSpan(rank * batch, batch).ToArray();
    }

    /// <summary>Where sample <paramref name="index"/> of this rank's micro-batch <paramref name="micro"/> sits in the pool.</summary>
    public static int Position(int micro, int index, int rank, int ranks, int batch) => (micro * ranks + rank) * batch + index;

    /// <summary>Every rank's per-sample losses, as gathered (rank, then micro-batch, then sample), in pool order
    /// (micro-batch, then rank, then sample).</summary>
    public static float[] InPoolOrder(float[] gathered, int ranks, int micros, int batch)
    {
        if (gathered.Length != ranks * micros * batch)
            throw new ArgumentException($"Expected {ranks} x {micros} x {batch} losses, got {gathered.Length}.", nameof(gathered));
        var pool = new float[gathered.Length];
        int k = 0;
        for (int rank = 0; rank < ranks; rank++)
            for (int micro = 0; micro < micros; micro++)
                for (int i = 0; i < batch; i++)
                    pool[Position(micro, i, rank, ranks, batch)] = gathered[k++];
        return pool;
    }
}
