using System.Runtime.CompilerServices;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Training.Cli;

namespace HardFocus.Training.Distributed;

/// <summary>--distributed: auto trains data-parallel when an MPI launcher started the process; on insists on it; off
/// trains in this process alone.</summary>
public enum DistributedMode { Auto, On, Off }

/// <summary>
/// Runs a command in a single process or as one rank of an MPI job. Launchers of the MPICH family (mpiexec, Slurm's
/// srun --mpi=pmi2) announce themselves through PMI variables, which is how a rank knows it is one; without them, MPI
/// is never loaded and the command runs exactly as it would have without this class.
/// </summary>
public static class MpiLaunch
{
    private static readonly TimeSpan AbortDelay = TimeSpan.FromMilliseconds(300);

    public static bool StartedByMpiLauncher =>
        System.Environment.GetEnvironmentVariable("PMI_SIZE") != null || System.Environment.GetEnvironmentVariable("PMI_RANK") != null
        || System.Environment.GetEnvironmentVariable("PMIX_RANK") != null;

    private static bool StartedByOpenMpi => System.Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") != null;

    public static int Run(DistributedMode mode, Func<ICommunicator, int> command)
    {
        if (mode == DistributedMode.Off) return command(SingleProcess.Instance);
        if (StartedByOpenMpi)
            throw new UserError("Open MPI's mpirun started this process, but hardfocus speaks the MPICH ABI (MPICH, Intel MPI, MVAPICH, Cray MPICH): launch it with mpiexec.mpich, or pass --distributed off.");
        if (!StartedByMpiLauncher)
            return mode == DistributedMode.On
                ? throw new UserError("--distributed on: no MPI launcher started this process; run it as mpiexec -n N hardfocus train ...")
                : command(SingleProcess.Instance);
        return RunAsRank(command);
    }

    /// <summary>Kept out of <see cref="Run"/> so that MPI.NET's assembly loads only when this runs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int RunAsRank(Func<ICommunicator, int> command)
    {
        using var world = MpiWorld.Start();
        // Ranks sharing a machine share its cores; each taking them all would make them fight over every one.
        CpuBackend.Threads = Math.Max(1, System.Environment.ProcessorCount / world.LocalSize);
        try
        {
            return command(world);
        }
        catch (EveryRankFailure e)
        {
            // Every rank is here at once, so they can all end normally; one line says it for all of them.
            if (world.Rank == 0) Console.Error.WriteLine($"error: {ErrorLine.Of(e)}");
            return 2;
        }
        catch (Exception e)
        {
            // One rank failing alone leaves the others blocked in a collective: MPI_Abort ends them all, now. The
            // checkpoint commit protocol keeps the last checkpoint intact wherever the abort catches rank 0.
            bool userFacing = ErrorLine.IsUserFacing(e);
            Console.Error.WriteLine($"error: rank {world.Rank} of {world.Size}: {(userFacing ? ErrorLine.Of(e) : e.ToString())}");
            Console.Out.Flush();
            Console.Error.Flush();
            // The launcher relays a rank's output through a pipe, and kills every rank on MPI_Abort without draining it:
            // a moment's pause lets the line out first.
            Thread.Sleep(AbortDelay);
            world.Abort(userFacing ? 2 : 1);
            throw; // MPI_Abort does not return
        }
    }
}
