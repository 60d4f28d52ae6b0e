using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Training.Distributed;

namespace HardFocus.Training.Cli;

/// <summary>
/// `mpiexec -n N hardfocus mpi-check`: proves an MPI setup before a long run is trusted to it. It checks that the
/// gradient sum adds exactly what it should (buffers of one, several and a ragged number of buckets) and that the
/// loss gather puts every rank's values in rank order, then measures the sum's bandwidth.
/// </summary>
public static class MpiCheckCommand
{
    /// <summary>The largest pattern buffer is about 3 buckets: 200 MB at this bound.</summary>
    private const int MaxBucket = 1 << 24;

    public static Command Create()
    {
        var bucket = new Option<int>("--bucket") { Description = $"Floats per collective in the pattern check, 1 to {MaxBucket} (small, so that buffers span several buckets).", DefaultValueFactory = _ => 1000 };
        var megabytes = new Option<int[]>("--megabytes") { Description = "Buffer sizes to time the gradient sum at, in MiB, each 1 to 1024.", DefaultValueFactory = _ => [4, 64], AllowMultipleArgumentsPerToken = true };
        var command = new Command("mpi-check", "Check and time the collectives of data-parallel training; run it as mpiexec -n N hardfocus mpi-check.") { bucket, megabytes };
        command.SetAction(parse =>
        {
            int floats = parse.GetValue(bucket);
            if (floats is < 1 or > MaxBucket) throw new UserError($"--bucket must lie in [1, {MaxBucket}], got {floats}.");
            var sizes = parse.GetValue(megabytes)!;
            if (sizes.Any(m => m is < 1 or > 1024)) throw new UserError("--megabytes values must lie in [1, 1024].");
            if (!MpiLaunch.StartedByMpiLauncher) throw new UserError("mpi-check needs an MPI launcher: run it as mpiexec -n N hardfocus mpi-check.");
            return MpiLaunch.Run(DistributedMode.On, world => Check(world, floats, sizes));
        });
        return command;
    }

    private static int Check(ICommunicator world, int bucket, int[] megabytes)
    {
        var localRanks = world.AllGather((ulong)world.LocalRank);
        Say(world, $"{world.Size} ranks on {localRanks.Count(r => r == 0)} machine(s); {CpuBackend.Threads} CPU threads per rank on rank 0's machine");

        int[] lengths = [1, bucket - 1, bucket, bucket + 1, 3 * bucket + 5];
        var failures = new List<string>();
        foreach (int length in lengths.Where(n => n > 0))
        {
            var values = new float[length];
            for (int i = 0; i < length; i++) values[i] = Pattern(i, world.Rank);
            GradientSync.Sum(values, world, bucket);
            int wrong = Enumerable.Range(0, length).Count(i => values[i] != Enumerable.Range(0, world.Size).Sum(r => Pattern(i, r)));
            if (wrong > 0) failures.Add($"sum of {length} floats: {wrong} wrong");
        }

        var gathered = world.AllGather(Enumerable.Range(0, 3).Select(i => (float)(world.Rank * 10 + i)).ToArray());
        if (!gathered.SequenceEqual(Enumerable.Range(0, world.Size).SelectMany(r => Enumerable.Range(0, 3).Select(i => (float)(r * 10 + i)))))
            failures.Add("gather: values out of rank order");

        // Every rank must agree on the verdict, or the failing one would be the only one to say so.
        if (world.Any(failures.Count > 0))
        {
            if (failures.Count > 0) Console.Error.WriteLine($"error: rank {world.Rank}: {string.Join("; ", failures)}");
            return 1;
        }
        Say(world, $"gradient sum: ok ({string.Join(", ", lengths.Where(n => n > 0))} floats in buckets of {bucket}); loss gather: ok");

        foreach (int mb in megabytes)
        {
            var buffer = new float[mb * (1 << 20) / sizeof(float)];
            GradientSync.Sum(buffer, world, GradientSync.DefaultBucketFloats); // warm-up
            var times = new double[5];
            for (int k = 0; k < times.Length; k++)
            {
                var clock = Stopwatch.StartNew();
                GradientSync.Sum(buffer, world, GradientSync.DefaultBucketFloats);
                times[k] = clock.Elapsed.TotalSeconds;
            }
            double median = times.Order().ElementAt(times.Length / 2);
            // A ring allreduce moves 2(N-1)/N of the buffer through each rank's link: its "bus bandwidth".
            double bus = 2.0 * (world.Size - 1) / world.Size * buffer.Length * sizeof(float) / median / 1e9;
            Say(world, string.Create(CultureInfo.InvariantCulture, $"gradient sum of {mb} MiB: {median * 1e3:F2} ms median of {times.Length}, bus bandwidth {bus:F2} GB/s"));
        }
        return 0;
    }

    /// <summary>Small integers, so that any summation order gives the exact sum in float.</summary>
    private static float Pattern(int i, int rank) => (i * 7 + rank * 13) % 31 - 15;

    private static void Say(ICommunicator world, string line)
    {
        if (world.Rank == 0) Console.WriteLine(line);
    }
}
