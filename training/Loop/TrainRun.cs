using HardFocus.Models;
using HardFocus.Engine.Backends;
using System.Globalization;
using HardFocus.Training.Cli;
using HardFocus.Training.Distributed;

namespace HardFocus.Training;

/// <summary>Where a run reports progress: the console in the CLI, a list in tests.</summary>
public interface ITrainReporter
{
    void Line(string text);
    /// <summary>Runs <paramref name="body"/>, which calls the given callback after every step.</summary>
    void RunSteps(int from, int total, Action<Action<StepResult>> body);
}

/// <summary>
/// The `train` command's flow: a new run folder (or the resumed one), held under its lock; validation perplexity
/// before, steps with logs, periodic evaluation and checkpoints, a final checkpoint and perplexity after. A request on
/// <c>stop</c> (Ctrl-C) ends the run after the current step with a checkpoint; a new run that ends without one removes
/// what it wrote.
/// <para>Under data parallelism every rank runs this flow in step, and only rank 0 touches the run folder: it claims
/// it, logs, evaluates and saves. The other ranks only read a checkpoint they resume from, and report nothing.</para>
/// </summary>
public sealed class TrainRun(IBackend backend, string? output, string? resume, string? init, int? stepsOverride,
    bool overwrite = false, int? maxBadStepsOverride = null, ICommunicator? world = null)
{
    private readonly ICommunicator _world = world ?? SingleProcess.Instance;
    private bool Writes => _world.Rank == 0;

    /// <summary>What a shell reports for a process that Ctrl-C ended (128 + SIGINT), returned after a stop request.</summary>
    public const int InterruptedExitCode = 130;

    public int Execute(TrainOptions requested, ITrainReporter report, CancellationToken stop = default)
    {
        if (resume != null && overwrite) throw new UserError("--overwrite replaces the folder of a new run; it cannot be combined with --resume.");
        var folder = new RunFolder(resume ?? output
            ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + OptionNames.Of(requested.Reweight)));
        using var claim = !Writes ? null : resume != null ? RunClaim.ForResume(folder) : RunClaim.ForNewRun(folder, overwrite);
        try
        {
            return Train(folder, requested, report, stop);
        }
        finally
        {
            claim?.RemoveIfNothingSaved();
        }
    }

    private int Train(RunFolder folder, TrainOptions requested, ITrainReporter report, CancellationToken stop)
    {
        TrainerState? resumed = null;
        TrainOptions options = requested;
        if (resume != null)
        {
            resumed = folder.LoadTrainerState();
            options = resumed.Options with
            {
                Steps = stepsOverride ?? resumed.Options.Steps, MaxBadSteps = maxBadStepsOverride ?? resumed.Options.MaxBadSteps,
            };
            // A cosine schedule is shaped by its total: a new total would change the rates of the steps already taken.
            if (options.Schedule == LrSchedule.Cosine && options.Steps != resumed.Options.Steps)
                throw new UserError($"The run in {folder.Path} uses a cosine schedule over {resumed.Options.Steps} steps; it can only resume to that total.");
            if (options.Steps <= resumed.Step) throw new UserError($"The run in {folder.Path} is already at step {resumed.Step}; pass a larger --steps to continue.");
            // Each step draws ranks x batch samples, so the loader's position means the same data only under the same number.
            int ranks = resumed.Ranks ?? 1;
            if (ranks != _world.Size)
                throw new UserError($"The run in {folder.Path} was trained on {Processes(ranks)} and this is {Processes(_world.Size)}; resume it with mpiexec -n {ranks} " +
                    $"(a different number would draw different batches: the global batch is --batch-size times the number of processes).");
        }

        using var session = new TrainingSession(options, backend, resumed != null ? folder.LoadConfig() : null, _world);
        if (resumed != null)
        {
            if (Writes) folder.RemoveStaleTemporaryFiles();
            session.Restore(folder, resumed);
            if (Writes) folder.TruncateLogsAfter(resumed.Step);
            report.Line($"resumed {folder.Path} at step {resumed.Step}");
        }
        else if (init != null)
        {
            if (!File.Exists(init) && !HuggingFaceCheckpoint.HasWeights(init))
                throw new UserError($"--init: no weights at {init} (a .safetensors file, or a folder with {RunFolder.ModelFile} or {HuggingFaceCheckpoint.IndexFile}).");
            RunFolder.LoadWeights(init, session.Model);
        }

        if (_world.Size > 1) RankAgreement.Check(_world, session);
        string ranksNote = _world.Size == 1 ? "" : $" x {_world.Size} ranks (global batch {options.BatchSize * _world.Size})";
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"model {options.Model}: {session.Model.ParameterCount():N0} parameters on {backend.Name}{ranksNote}; {session.Tokenizer.Name} tokens; " +
            $"{session.Train.Count} train / {session.Validation.Count} validation sequences of {options.SeqLen}; reweight {OptionNames.Of(options.Reweight)}; run folder {folder.Path}"));

        // Rank 0 alone logs and evaluates; the others go on to the next collective and wait for it there.
        using var log = Writes ? new RunLog(folder) : null;
        Evaluation? before = Writes && session.Validation.Count > 0 && !stop.IsCancellationRequested ? session.Evaluate() : null;
        if (before is { } b)
        {
            report.Line(string.Create(CultureInfo.InvariantCulture, $"validation before: loss {b.Loss:F4}, perplexity {b.Perplexity:F2}"));
            if (resumed == null) log!.Eval(0, b);
        }

        int? saved = resumed?.Step; // the step of the checkpoint in the folder, if there is one
        report.RunSteps(session.Trainer.StepsDone, options.Steps, afterStep =>
        {
            int skippedInARow = 0;
            // Every rank must stop after the same step, wherever the Ctrl-C reached first.
            while (session.Trainer.StepsDone < options.Steps && !_world.Any(stop.IsCancellationRequested))
            {
                var r = session.Trainer.Step();
                // A skipped step and divergence are decided from the global losses and gradients, the same on every rank.
                if (r.Skipped)
                {
                    skippedInARow++; // not inside log?.Skipped(...): its arguments are not evaluated where there is no log
                    log?.Skipped(r, skippedInARow);
                    if (skippedInARow > options.MaxBadSteps) throw new EveryRankFailure(Diverged(r, skippedInARow, options.MaxBadSteps, folder, saved));
                    report.Line($"step {r.Step}: {NonFinite(r)}; skipped ({skippedInARow} in a row, --max-bad-steps {options.MaxBadSteps})");
                    continue;
                }
                skippedInARow = 0;
                log?.Step(r);
                afterStep(r);
                bool last = r.Step == options.Steps;
                if (Writes && !last && options.EvalEvery > 0 && r.Step % options.EvalEvery == 0 && session.Validation.Count > 0 && !stop.IsCancellationRequested)
                    log!.Eval(r.Step, session.Evaluate());
                if (!last && options.SaveEvery > 0 && r.Step % options.SaveEvery == 0)
                {
                    if (Writes) session.Save(folder);
                    saved = r.Step;
                }
            }
        });

        bool stopped = _world.Any(stop.IsCancellationRequested);
        // Step 0 is not worth a checkpoint: a new run stopped before its first step saves nothing and leaves nothing.
        if (session.Trainer.StepsDone > (saved ?? 0))
        {
            if (Writes) session.Save(folder);
            saved = session.Trainer.StepsDone;
        }
        if (stopped)
        {
            report.Line(saved == null ? "interrupted before the first step; nothing was saved"
                : saved < options.Steps ? $"interrupted: checkpoint at step {saved}/{options.Steps} in {folder.Path}; continue with: hardfocus train --resume {folder.Path}"
                : $"interrupted after the last step; the run is complete and saved in {folder.Path} (final evaluation skipped)");
            return InterruptedExitCode;
        }
        if (Writes && session.Validation.Count > 0)
        {
            var after = session.Evaluate();
            log!.Eval(options.Steps, after);
            string was = before is { } b0 ? string.Create(CultureInfo.InvariantCulture, $" (was {b0.Perplexity:F2})") : "";
            report.Line(string.Create(CultureInfo.InvariantCulture,
                $"validation after {options.Steps} steps: loss {after.Loss:F4}, perplexity {after.Perplexity:F2}{was}"));
        }
        report.Line($"saved {folder.Path}");
        return 0;
    }

    private static string Processes(int n) => n == 1 ? "one process" : $"{n} processes";

    private static string NonFinite(StepResult r) =>
        !float.IsFinite(r.MeanLoss) ? $"the loss is {r.MeanLoss}" : $"the gradient norm is {r.GradNorm}";

    private static string Diverged(StepResult r, int inARow, int allowed, RunFolder folder, int? saved)
    {
        string why = allowed == 0 ? NonFinite(r) : $"{inARow} steps in a row were not finite (--max-bad-steps {allowed}), the last because {NonFinite(r)}";
        string kept = saved is int s ? $"the checkpoint at step {s} in {folder.Path} is intact" : "no checkpoint had been saved";
        return $"Training diverged at step {r.Step}: {why}; {kept}.";
    }
}
