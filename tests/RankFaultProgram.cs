using HardFocus.Engine.Backends.Cpu;
using HardFocus.Training;
using HardFocus.Training.Distributed;

namespace HardFocus.Tests;

/// <summary>
/// The test assembly run as a program (vstest never calls it): `mpiexec -n N dotnet HardFocus.Tests.dll FOLDER RANK STEP`
/// trains <see cref="Options"/> data-parallel into FOLDER, and rank RANK fails with an I/O error right after step STEP
/// (a negative STEP: never), as a disk or a data shard on one machine might. <see cref="MpiTests"/> checks that the
/// whole job then ends at once with one line naming the rank, and that the last checkpoint survives.
/// </summary>
public static class RankFaultProgram
{
    /// <summary>What `hardfocus train --model tiny --tokenizer bytes --batch-size 2 --seq-len 32 --steps 6 --save-every 2
    /// --eval-batches 1 --reweight irdro --lambda 0.5` asks for, so that the CLI can resume what this program saved.</summary>
    public static readonly TrainOptions Options = new()
    {
        Model = "tiny", Tokenizer = "bytes", BatchSize = 2, SeqLen = 32, Steps = 6, SaveEvery = 2, EvalBatches = 1,
        Reweight = ReweightMethod.Irdro, Lambda = 0.5,
    };

    public static int Main(string[] args)
    {
        if (args.Length != 3 || !int.TryParse(args[1], out int failingRank) || !int.TryParse(args[2], out int failAfterStep))
        {
            Console.Error.WriteLine("usage: mpiexec -n N dotnet HardFocus.Tests.dll FOLDER FAILING_RANK FAIL_AFTER_STEP");
            return 2;
        }
        return MpiLaunch.Run(DistributedMode.On, world =>
            new TrainRun(CpuBackend.Shared, output: args[0], resume: null, init: null, stepsOverride: null, world: world)
                .Execute(Options, new FailingReporter(world.Rank == failingRank ? failAfterStep : -1)));
    }

    private sealed class FailingReporter(int failAfterStep) : ITrainReporter
    {
        public void Line(string text) { }

        public void RunSteps(int from, int total, Action<Action<StepResult>> body) => body(r =>
        {
            if (r.Step == failAfterStep) throw new IOException($"simulated failure after step {r.Step}");
        });
    }
}
