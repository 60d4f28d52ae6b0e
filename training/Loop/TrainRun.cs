using HardFocus.Engine.Backends;
using System.Globalization;
using HardFocus.Training.Cli;

namespace HardFocus.Training;

/// <summary>Where a run reports progress: the console in the CLI, a list in tests.</summary>
public interface ITrainReporter
{
    void Line(string text);
    /// <summary>Runs <paramref name="body"/>, which calls the given callback after every step.</summary>
    void RunSteps(int from, int total, Action<Action<StepResult>> body);
}

/// <summary>
/// The `train` command's flow: a new run folder (or the resumed one), validation perplexity before, steps with logs,
/// periodic evaluation and checkpoints, a final checkpoint and perplexity after.
/// </summary>
public sealed class TrainRun(IBackend backend, string? output, string? resume, string? init, int? stepsOverride)
{
    public int Execute(TrainOptions requested, ITrainReporter report)
    {
        RunFolder folder;
        TrainerState? resumed = null;
        TrainOptions options = requested;
        if (resume != null)
        {
            folder = new RunFolder(resume);
            resumed = folder.LoadTrainerState();
            options = resumed.Options with { Steps = stepsOverride ?? resumed.Options.Steps };
            // A cosine schedule is shaped by its total: a new total would change the rates of the steps already taken.
            if (options.Schedule == LrSchedule.Cosine && options.Steps != resumed.Options.Steps)
                throw new UserError($"The run in {folder.Path} uses a cosine schedule over {resumed.Options.Steps} steps; it can only resume to that total.");
            if (options.Steps <= resumed.Step) throw new UserError($"The run in {folder.Path} is already at step {resumed.Step}; pass a larger --steps to continue.");
        }
        else
        {
            folder = new RunFolder(output ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + OptionNames.Of(requested.Reweight)));
            if (folder.HasCheckpoint || File.Exists(folder.File(RunFolder.MetricsFile)))
                throw new UserError($"{folder.Path} already holds a run; use --resume {folder.Path} or another --out.");
        }

        using var session = new TrainingSession(options, backend, resumed != null ? folder.LoadConfig() : null);
        if (resumed != null)
        {
            session.Restore(folder, resumed);
            folder.TruncateLogsAfter(resumed.Step);
            report.Line($"resumed {folder.Path} at step {resumed.Step}");
        }
        else if (init != null)
        {
            string weights = Directory.Exists(init) ? Path.Combine(init, RunFolder.ModelFile) : init;
            if (!File.Exists(weights)) throw new UserError($"--init: no weights at {weights}.");
            RunFolder.LoadWeights(weights, session.Model);
        }

        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"model {options.Model}: {session.Model.ParameterCount():N0} parameters on {backend.Name}; {session.Tokenizer.Name} tokens; " +
            $"{session.Train.Count} train / {session.Validation.Count} validation sequences of {options.SeqLen}; reweight {OptionNames.Of(options.Reweight)}; run folder {folder.Path}"));

        using var log = new RunLog(folder);
        Evaluation? before = session.Validation.Count > 0 ? session.Evaluate() : null;
        if (before is { } b)
        {
            report.Line(string.Create(CultureInfo.InvariantCulture, $"validation before: loss {b.Loss:F4}, perplexity {b.Perplexity:F2}"));
            if (resumed == null) log.Eval(0, b);
        }

        report.RunSteps(session.Trainer.StepsDone, options.Steps, afterStep =>
        {
            while (session.Trainer.StepsDone < options.Steps)
            {
                var r = session.Trainer.Step();
                if (!float.IsFinite(r.Objective))
                    throw new InvalidOperationException($"Training diverged at step {r.Step} (loss {r.Objective}); the last checkpoint in {folder.Path} is intact.");
                log.Step(r);
                afterStep(r);
                bool last = r.Step == options.Steps;
                if (!last && options.EvalEvery > 0 && r.Step % options.EvalEvery == 0 && session.Validation.Count > 0)
                    log.Eval(r.Step, session.Evaluate());
                if (!last && options.SaveEvery > 0 && r.Step % options.SaveEvery == 0) session.Save(folder);
            }
        });

        session.Save(folder);
        if (session.Validation.Count > 0)
        {
            var after = session.Evaluate();
            log.Eval(options.Steps, after);
            string was = before is { } b0 ? string.Create(CultureInfo.InvariantCulture, $" (was {b0.Perplexity:F2})") : "";
            report.Line(string.Create(CultureInfo.InvariantCulture,
                $"validation after {options.Steps} steps: loss {after.Loss:F4}, perplexity {after.Perplexity:F2}{was}"));
        }
        report.Line($"saved {folder.Path}");
        return 0;
    }
}
