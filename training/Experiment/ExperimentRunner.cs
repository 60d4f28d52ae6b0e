using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HardFocus.Engine.Backends;
using HardFocus.Training.Cli;
using HardFocus.Training.Eval;
using HardFocus.Training.Text;

namespace HardFocus.Training.Experiment;

/// <summary>What one arm measured, as read back from its eval.json.</summary>
public sealed record ArmResult(string Setting, string Method, int Seed, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// Runs an experiment's arms in order, each to completion: train (or resume) its run folder, then evaluate it into
/// eval.json. An arm with an eval.json is done and never rerun; one with a checkpoint short of its steps resumes
/// exactly; one that died before its first checkpoint starts again. So a killed experiment continues where it stopped.
/// A request on <c>stop</c> (Ctrl-C) ends the current arm's training after its step, with a checkpoint, and throws
/// <see cref="OperationCanceledException"/> before the next arm or evaluation begins.
/// </summary>
public sealed class ExperimentRunner(ExperimentPlan plan, IBackend backend, IExperimentProgress progress)
{
    public const string EvalFile = "eval.json", StreamLossesFile = "stream-losses.json";

    private readonly ITokenizer _tokenizer = TokenizerFactory.Create("bytes");
    private readonly Dictionary<string, IArmEvaluation> _evaluations = new();

    /// <summary>Arms this runner trained or evaluated (the rest were already done).</summary>
    public int ArmsRun { get; private set; }

    public IReadOnlyList<ArmResult> Run(CancellationToken stop = default)
    {
        var results = new List<ArmResult>();
        var clock = new ProgressClock(plan.Arms.Sum(a => a.Cost * (a.Options.Steps - StepsDone(a)) / a.Options.Steps));
        progress.Run(report =>
        {
            for (int i = 0; i < plan.Arms.Count; i++)
            {
                var arm = plan.Arms[i];
                string label = $"[{i + 1}/{plan.Arms.Count}] {arm.Setting} seed {arm.Seed} {arm.Name}";
                if (!Done(arm))
                {
                    stop.ThrowIfCancellationRequested();
                    Train(arm, label, clock, report, stop);
                    stop.ThrowIfCancellationRequested();
                    Evaluate(arm, label, report);
                    ArmsRun++;
                }
                results.Add(Read(arm));
            }
        });
        return results;
    }

    private static bool Done(Arm arm) => File.Exists(Path.Combine(arm.Folder, EvalFile));

    private static int StepsDone(Arm arm)
    {
        if (Done(arm)) return arm.Options.Steps;
        var folder = new RunFolder(arm.Folder);
        return folder.HasCheckpoint ? Math.Min(arm.Options.Steps, folder.LoadTrainerState().Step) : 0;
    }

    private void Train(Arm arm, string label, ProgressClock clock, IArmProgress report, CancellationToken stop)
    {
        int from = StepsDone(arm);
        if (from == 0 && Directory.Exists(arm.Folder))
            Directory.Delete(arm.Folder, recursive: true); // died before its first checkpoint: nothing worth keeping

        if (from < arm.Options.Steps)
        {
            report.Begin(label, from, arm.Options.Steps);
            var reporter = new ArmReporter(step => report.Step(step, clock.Estimate(arm, from, step)), Path.Combine(plan.Root, "experiment.log"), label);
            var run = from > 0
                ? new TrainRun(backend, output: null, resume: arm.Folder, init: null, stepsOverride: null)
                : new TrainRun(backend, output: arm.Folder, resume: null, init: arm.Init, stepsOverride: null);
            run.Execute(arm.Options, reporter, stop);
        }
        clock.Finished(arm, from);
    }

    private void Evaluate(Arm arm, string label, IArmProgress report)
    {
        var evaluation = EvaluationFor(arm.Setting);
        using var checkpoint = Checkpoint.Load(arm.Folder, backend);
        var metrics = evaluation.Evaluate(checkpoint.Model);
        if (arm.IsBase && evaluation is ContinualEvaluation continual)
        {
            // The base model's per-sample losses on the continual stream: the picture MidRanking is motivated by.
            var losses = LossDistribution.PerSampleLosses(checkpoint.Model, continual.StreamTrain, arm.Options.BatchSize, maxSequences: 1024);
            RunFolder.WriteAtomically(Path.Combine(arm.Folder, StreamLossesFile), JsonSerializer.Serialize(losses));
        }
        var json = new JsonObject { ["setting"] = arm.Setting, ["method"] = arm.Name, ["seed"] = arm.Seed };
        var values = new JsonObject();
        foreach (var (name, value) in metrics) values[name] = double.IsFinite(value) ? value : null;
        json["metrics"] = values;
        RunFolder.WriteAtomically(Path.Combine(arm.Folder, EvalFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        report.Finished(label + "  " + string.Join("  ", metrics.Take(4).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:0.####}"))));
    }

    private IArmEvaluation EvaluationFor(string setting)
    {
        if (_evaluations.TryGetValue(setting, out var cached)) return cached;
        IArmEvaluation evaluation = setting == ExperimentPlan.ContinualSetting
            ? new ContinualEvaluation(plan, plan.Preset.Continual!, _tokenizer)
            : new InstructEvaluation(plan, plan.Preset.Instruct!, _tokenizer);
        return _evaluations[setting] = evaluation;
    }

    private static ArmResult Read(Arm arm)
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(arm.Folder, EvalFile)))!;
        var metrics = root["metrics"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<double>() ?? double.NaN);
        return new ArmResult(arm.Setting, arm.Name, arm.Seed, metrics);
    }

    /// <summary>Training's own lines go to the experiment's log; its steps drive the progress display.</summary>
    private sealed class ArmReporter(Action<int> step, string logPath, string label) : ITrainReporter
    {
        public void Line(string text) => File.AppendAllText(logPath, $"{label}: {text}\n");

        public void RunSteps(int from, int total, Action<Action<StepResult>> body) => body(r => step(r.Step));
    }
}
