using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace HardFocus.Training.Experiment;

/// <summary>How a metric is named, read and printed in the results.</summary>
public sealed record MetricInfo(string Key, string Title, bool HigherIsBetter, string Format)
{
    public static MetricInfo For(string key) => key switch
    {
        "a_ppl" => new(key, "A held-out ppl", false, "0.000"),
        "cloze_acc" => new(key, "cloze acc", true, "P"),
        "cloze_acc_norm" => new(key, "cloze acc_norm", true, "P"),
        "exact_match" => new(key, "exact match", true, "P"),
        "test_loss" => new(key, "clean test loss", false, "0.0000"),
        _ when key.StartsWith("ood_", StringComparison.Ordinal) => new(key, key[4..^4] + " ppl", false, "0.00"),
        _ when key.StartsWith("em_", StringComparison.Ordinal) => new(key, "EM " + key[3..], true, "P"),
        _ => new(key, key, true, "0.####"),
    };

    public string Show(double value) => !double.IsFinite(value) ? "n/a"
        : Format == "P" ? (100 * value).ToString("0.0", CultureInfo.InvariantCulture) + "%"
        : value.ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>A difference in the metric's unit: percentage points for accuracies.</summary>
    public string ShowDifference(double value) => !double.IsFinite(value) ? (double.IsNaN(value) ? "n/a" : value > 0 ? "+inf" : "-inf")
        : Format == "P" ? (100 * value).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + " pt"
        : value.ToString("+" + Format + ";-" + Format + ";" + Format, CultureInfo.InvariantCulture);
}

/// <summary>One method's numbers in one setting, over seeds, and its difference against ERM paired by seed.
/// <paramref name="IsBase"/> marks the base model's row: a reference point, not a method in the verdict.</summary>
public sealed record MethodSummary(string Setting, string Method, string Budget, bool IsBase, string Description,
    IReadOnlyDictionary<string, Summary> Metrics, IReadOnlyDictionary<string, PairedDifference> VersusErm);

/// <summary>Writes results.md, results.csv and summary.json from every arm's measurements.</summary>
public static class ExperimentReport
{
    public const string Baseline = "erm";

    public static IReadOnlyList<MethodSummary> Summarize(ExperimentPlan plan, IReadOnlyList<ArmResult> results)
    {
        var summaries = new List<MethodSummary>();
        foreach (var setting in plan.Arms.Select(a => a.Setting).Distinct())
        {
            var metricNames = MetricNames(plan, setting);
            var baseline = results.Where(r => r.Setting == setting && r.Method == Baseline).ToDictionary(r => r.Seed);
            foreach (var arm in plan.Arms.Where(a => a.Setting == setting).DistinctBy(a => a.Name))
            {
                var mine = results.Where(r => r.Setting == setting && r.Method == arm.Name).OrderBy(r => r.Seed).ToList();
                var metrics = metricNames.ToDictionary(m => m, m => Statistics.Summarize(mine.Select(r => Value(r, m)).ToList()));
                var paired = mine.Where(r => baseline.ContainsKey(r.Seed)).ToList();
                var versus = arm.Name == Baseline ? new Dictionary<string, PairedDifference>() : metricNames.ToDictionary(m => m,
                    m => Statistics.Paired(paired.Select(r => Value(r, m)).ToList(), paired.Select(r => Value(baseline[r.Seed], m)).ToList()));
                summaries.Add(new MethodSummary(setting, arm.Name, arm.BudgetLabel, arm.IsBase, arm.Method?.Describe() ?? "the pretrained starting point",
                    metrics, versus));
            }
        }
        return summaries;
    }

    public static IReadOnlyList<string> MetricNames(ExperimentPlan plan, string setting) => setting == ExperimentPlan.ContinualSetting
        ? ContinualEvaluation.MetricNames(plan.Preset.Continual!)
        : InstructEvaluation.MetricNames();

    private static double Value(ArmResult r, string metric) => r.Metrics.TryGetValue(metric, out var v) ? v : double.NaN;

    public static void WriteAll(ExperimentPlan plan, IReadOnlyList<ArmResult> results, IReadOnlyList<MethodSummary> summaries,
        IReadOnlyList<string> plots, int armsRun, TimeSpan wall)
    {
        RunFolder.WriteAtomically(Path.Combine(plan.Root, "results.md"), Markdown(plan, summaries, plots, armsRun, wall));
        RunFolder.WriteAtomically(Path.Combine(plan.Root, "results.csv"), Csv(plan, results));
        RunFolder.WriteAtomically(Path.Combine(plan.Root, "summary.json"), Json(plan, summaries, armsRun, wall));
    }

    private static string Markdown(ExperimentPlan plan, IReadOnlyList<MethodSummary> summaries, IReadOnlyList<string> plots, int armsRun, TimeSpan wall)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Experiment `{plan.Preset.Name}`: {plan.Preset.Description}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"{plan.Seeds} seed(s); cells are mean ± standard deviation over seeds. ");
        md.Append("Differences are against ERM, paired by seed (same base model and data order), with a 95% t interval; ");
        md.Append("**bold** marks an interval that excludes zero.\n\n");
        foreach (var setting in summaries.Select(s => s.Setting).Distinct())
        {
            var rows = summaries.Where(s => s.Setting == setting).ToList();
            var metrics = MetricNames(plan, setting).Select(MetricInfo.For).ToList();
            md.Append(CultureInfo.InvariantCulture, $"## {setting}\n\n");
            md.Append("| method | budget | " + string.Join(" | ", metrics.Select(m => m.Title + (m.HigherIsBetter ? " ↑" : " ↓"))) + " |\n");
            md.Append("| --- | --- |" + string.Concat(metrics.Select(_ => " ---: |")) + "\n");
            foreach (var row in rows)
                md.Append($"| {row.Method} | {row.Budget} | " + string.Join(" | ", metrics.Select(m => Cell(m, row.Metrics[m.Key]))) + " |\n");
            md.Append("\nAgainst ERM:\n\n");
            md.Append("| method | " + string.Join(" | ", metrics.Select(m => "Δ " + m.Title)) + " |\n");
            md.Append("| --- |" + string.Concat(metrics.Select(_ => " ---: |")) + "\n");
            foreach (var row in rows.Where(r => r.VersusErm.Count > 0))
                md.Append($"| {row.Method} | " + string.Join(" | ", metrics.Select(m => DifferenceCell(m, row.VersusErm[m.Key]))) + " |\n");
            md.Append('\n').Append(Verdict(metrics[0], rows)).Append("\n\n");
            md.Append("Methods: " + string.Join("; ", rows.Select(r => $"`{r.Method}` {r.Description}")) + ".\n\n");
        }
        if (plots.Count > 0)
        {
            md.Append("## Plots\n\n");
            foreach (var plot in plots) md.Append(CultureInfo.InvariantCulture, $"![{Path.GetFileNameWithoutExtension(plot)}]({plot})\n\n");
        }
        md.Append(CultureInfo.InvariantCulture, $"The invocation that wrote this file ran {armsRun} of the {plan.Arms.Count} arms (the others were done before) in {wall.TotalMinutes:0.0} min.\n");
        return md.ToString();
    }

    private static string Cell(MetricInfo m, Summary s) => s.Count == 0 ? "n/a" : s.Count == 1 ? m.Show(s.Mean) : $"{m.Show(s.Mean)} ± {m.Show(s.StdDev)}";

    private static string DifferenceCell(MetricInfo m, PairedDifference d)
    {
        if (d.Count == 0) return "n/a";
        string text = d.Count < 2 ? m.ShowDifference(d.Mean) : $"{m.ShowDifference(d.Mean)} [{m.ShowDifference(d.Low)}, {m.ShowDifference(d.High)}]";
        return d.ExcludesZero ? $"**{text}**" : text;
    }

    /// <summary>One sentence on the setting's first metric: which methods beat ERM, which lose, with intervals excluding zero.</summary>
    internal static string Verdict(MetricInfo metric, IReadOnlyList<MethodSummary> rows)
    {
        var compared = rows.Where(r => !r.IsBase && r.VersusErm.Count > 0 && r.VersusErm[metric.Key].Count >= 2).ToList();
        if (compared.Count == 0) return $"On {metric.Title}: too few seeds for intervals (run with --seeds 3 or more).";
        bool Better(PairedDifference d) => metric.HigherIsBetter ? d.Low > 0 : d.High < 0;
        bool Worse(PairedDifference d) => metric.HigherIsBetter ? d.High < 0 : d.Low > 0;
        string List(IEnumerable<MethodSummary> s) => s.Any() ? string.Join(", ", s.Select(r => r.Method)) : "none";
        var better = compared.Where(r => Better(r.VersusErm[metric.Key]));
        var worse = compared.Where(r => Worse(r.VersusErm[metric.Key]));
        return $"On {metric.Title}: better than ERM with the interval excluding zero: {List(better)}; worse: {List(worse)}; " +
               $"the rest are not distinguishable from ERM at this number of seeds.";
    }

    private static string Csv(ExperimentPlan plan, IReadOnlyList<ArmResult> results)
    {
        var csv = new StringBuilder("setting,method,budget,seed,metric,value\n");
        var budgets = plan.Arms.DistinctBy(a => (a.Setting, a.Name)).ToDictionary(a => (a.Setting, a.Name), a => a.BudgetLabel);
        foreach (var r in results)
            foreach (var metric in MetricNames(plan, r.Setting))
                csv.Append(CultureInfo.InvariantCulture, $"{r.Setting},{r.Method},{budgets[(r.Setting, r.Method)]},{r.Seed},{metric},{Value(r, metric):R}\n");
        return csv.ToString();
    }

    private static string Json(ExperimentPlan plan, IReadOnlyList<MethodSummary> summaries, int armsRun, TimeSpan wall)
    {
        static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
        var settings = new JsonObject();
        foreach (var group in summaries.GroupBy(s => s.Setting))
        {
            var methods = new JsonObject();
            foreach (var s in group)
            {
                var metrics = new JsonObject();
                foreach (var (name, summary) in s.Metrics)
                {
                    var m = new JsonObject { ["mean"] = Number(summary.Mean), ["std"] = Number(summary.StdDev), ["n"] = summary.Count };
                    if (s.VersusErm.TryGetValue(name, out var d))
                        m["vs_erm"] = new JsonObject
                        {
                            ["mean"] = Number(d.Mean), ["low"] = Number(d.Low), ["high"] = Number(d.High), ["excludes_zero"] = d.ExcludesZero,
                        };
                    metrics[name] = m;
                }
                methods[s.Method] = new JsonObject { ["budget"] = s.Budget, ["description"] = s.Description, ["metrics"] = metrics };
            }
            settings[group.Key] = methods;
        }
        return new JsonObject
        {
            ["preset"] = plan.Preset.Name, ["seeds"] = plan.Seeds, ["arms"] = plan.Arms.Count, ["arms_run"] = armsRun, ["wall_seconds"] = Math.Round(wall.TotalSeconds, 1),
            ["settings"] = settings,
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
