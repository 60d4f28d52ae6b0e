using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using HardFocus.Training.Data;
using HardFocus.Training.Experiment;

namespace HardFocus.Training.Cli;

public static class ExperimentCommand
{
    public const string ManifestFile = "experiment.json";

    // Every arm trains once per seed, and the scale multiplies every step count: these bound the experiment's time.
    private static readonly OptionBound Seeds = OptionBound.Integer("--seeds", 1, 100);
    private static readonly OptionBound StepsScale = OptionBound.Real("--steps-scale", 0, 100, aboveMin: true);

    public static Command Create()
    {
        var preset = new Option<string>("--preset")
        {
            Description = "continual (the paper's light continual pre-training), instruct (instruction tuning with label noise) or smoke (both at toy size).",
            Required = true,
        };
        var seeds = new Option<int>(Seeds.Option) { Description = Seeds.Describe("Seeds per method; intervals need at least 2, the verdict 3 or more."), DefaultValueFactory = _ => 3 };
        var device = new Option<string>("--device") { Description = $"Where to run: {string.Join(", ", Devices.Names)}.", DefaultValueFactory = _ => "auto" };
        var tf32 = Devices.Tf32Option();
        var scale = new Option<double>(StepsScale.Option) { Description = StepsScale.Describe("Multiply every step count (base pretraining and each arm) by this."), DefaultValueFactory = _ => 1.0 };
        var corpus = new Option<string?>("--corpus") { Description = "Corpus A for continual: a .txt file, a folder of .txt files, .jsonl with a \"text\" field, or builtin:NAME. Default: builtin:moby-dick." };
        var ood = new Option<string[]>("--ood") { Description = "Out-of-domain corpora scored after continual training (same forms as --corpus; repeat the option). Default: builtin:sotu and builtin:fortunes.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Experiment folder; run the same command again to continue a killed experiment.", Required = true };
        var model = new Option<string>("--model") { Description = "Model family: gpt2 (the presets' GPT shapes) or llama (the same widths, depths and heads as LLaMA decoders).", DefaultValueFactory = _ => "gpt2" };
        var command = new Command("experiment", "Compare the reweighting methods across seeds: train every arm, evaluate, write results.md, results.csv, summary.json and plots.")
        {
            preset, seeds, device, tf32, scale, corpus, ood, output, model,
        };
        command.SetAction(parse =>
        {
            using var ctrlC = new CtrlC("stopping after the current arm's step to save its checkpoint");
            return Run(parse.GetValue(preset)!, parse.GetValue(seeds), parse.GetValue(device)!, parse.GetValue(scale),
                parse.GetValue(corpus), parse.GetValue(ood), parse.GetValue(output)!, new ConsoleExperimentProgress(), ctrlC.Token, parse.GetValue(model)!, parse.GetValue(tf32));
        });
        return command;
    }

    public static int Run(string presetName, int seeds, string device, double stepsScale, string? corpus, string[]? outOfDomain,
        string output, IExperimentProgress progress, CancellationToken stop = default, string family = "gpt2", bool tf32 = false)
    {
        Seeds.Check(seeds);
        StepsScale.Check(stepsScale);
        static string Absolute(string c) => c.StartsWith("builtin:", StringComparison.Ordinal) ? c : Path.GetFullPath(c);
        var preset = ExperimentPreset.Get(presetName).Scaled(stepsScale)
            .WithCorpora(corpus is null ? null : Absolute(corpus), outOfDomain?.Select(Absolute).ToArray()).WithFamily(family);
        if (preset.Continual is { } c)
            foreach (string path in (string[])[c.Corpus, .. c.OutOfDomain])
                TextCorpus.LoadDocuments(path); // a missing or empty corpus fails here, before anything is written
        string root = Path.GetFullPath(output);
        var identity = new JsonObject
        {
            ["preset"] = presetName, ["steps_scale"] = stepsScale,
            ["corpus"] = preset.Continual?.Corpus, ["ood"] = preset.Continual is { } cc ? new JsonArray([.. cc.OutOfDomain.Select(o => JsonValue.Create(o))]) : null,
        };
        // Recorded only when not GPT-2, so folders of experiments from before the choice existed still continue.
        if (family != "gpt2") identity["model"] = family;
        ClaimFolder(root, identity);

        using var held = RunLock.Acquire(root); // one experiment process per folder: two would train the same arms

        var backend = Devices.Resolve(device, tf32: tf32);
        var clock = Stopwatch.StartNew();
        var plan = ExperimentPlan.Build(preset, seeds, root);
        Console.WriteLine($"experiment {presetName}: {plan.Arms.Count} arms ({seeds} seed(s)) on {backend.Name} in {root}");
        IReadOnlyList<ArmResult> results;
        var runner = new ExperimentRunner(plan, backend, progress);
        try
        {
            results = runner.Run(stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.WriteLine($"interrupted: finished arms and the current arm's checkpoint are kept in {root}; run the same command again to continue.");
            return TrainRun.InterruptedExitCode;
        }
        var summaries = ExperimentReport.Summarize(plan, results);
        var plots = ExperimentPlots.Draw(plan, summaries);
        ExperimentReport.WriteAll(plan, results, summaries, plots, runner.ArmsRun, clock.Elapsed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {Path.Combine(root, "results.md")}, results.csv, summary.json and {plots.Count} plots in {clock.Elapsed.TotalMinutes:0.0} min"));
        return 0;
    }

    /// <summary>An experiment folder belongs to one preset, step scale and set of corpora: continuing it with others would
    /// mix arms trained differently under the same names. More or fewer seeds are fine: arms are per seed.</summary>
    private static void ClaimFolder(string root, JsonObject identity)
    {
        string manifest = Path.Combine(root, ManifestFile);
        if (File.Exists(manifest))
        {
            var held = JsonNode.Parse(File.ReadAllText(manifest));
            if (!JsonNode.DeepEquals(held, identity))
                throw new UserError($"{root} holds a different experiment ({held?.ToJsonString()}); use another --out.");
            return;
        }
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
            throw new UserError($"{root} is not empty and holds no experiment; use another --out.");
        Directory.CreateDirectory(root);
        RunFolder.WriteAtomically(manifest, identity.ToJsonString());
    }
}
