using System.Text.Json;
using HardFocus.Training.Eval;
using HardFocus.Training.Plots;

namespace HardFocus.Training.Experiment;

/// <summary>The experiment's pictures, drawn from the arms' run folders and the summaries; paths are relative to the
/// experiment folder so results.md can link them.</summary>
public static class ExperimentPlots
{
    public static IReadOnlyList<string> Draw(ExperimentPlan plan, IReadOnlyList<MethodSummary> summaries)
    {
        string dir = Path.Combine(plan.Root, "plots");
        Directory.CreateDirectory(dir);
        // Every picture is drawn anew from the arms, so none left from an earlier version of the experiment lingers.
        foreach (var old in Directory.EnumerateFiles(dir, "*.png")) File.Delete(old);
        var written = new List<string>();
        string Target(string name)
        {
            written.Add(Path.Combine("plots", name));
            return Path.Combine(dir, name);
        }

        if (plan.Preset.Continual is { } c)
        {
            const string setting = ExperimentPlan.ContinualSetting;
            var arms = plan.Arms.Where(a => a.Setting == setting).ToList();
            var firstBase = arms.First(a => a.IsBase);
            string lossesPath = Path.Combine(firstBase.Folder, ExperimentRunner.StreamLossesFile);
            if (File.Exists(lossesPath))
            {
                var losses = JsonSerializer.Deserialize<float[]>(File.ReadAllText(lossesPath))!;
                double frac = c.Methods.First(m => m.Reweight == ReweightMethod.Midrank).Frac;
                var sorted = losses.Select(l => (double)l).Order().ToArray();
                double Quantile(double q) => LossDistribution.Quantile(sorted, q);
                Charts.LossHistogram(Target("continual-base-loss-histogram.png"),
                    $"Base model: per-sample loss on the new stream (seed {firstBase.Seed})", losses,
                    [
                        (Quantile(1 - frac), sorted[^1], $"hardest {100 * frac:0}% (p0 keeps, p1 drops)"),
                        (Quantile(1 - 2 * frac), Quantile(1 - frac), $"next {100 * frac:0}% (p1 keeps)"),
                    ]);
            }

            var irdro = arms.Where(a => a.Seed == 1 && a.Method?.Reweight == ReweightMethod.Irdro).ToList();
            if (irdro.Count > 0)
                Charts.WeightVsLoss(Target("continual-irdro-weight-vs-loss.png"), "IR-DRO: weight × pool size against loss (seed 1, every step)",
                    irdro.Select(a =>
                    {
                        var rows = RunLogReader.ReadSamples(Path.Combine(a.Folder, RunFolder.SamplesFile));
                        return (a.Name, rows.SelectMany(r => r.Losses).ToArray(), rows.SelectMany(r => r.Weights.Select(w => w * r.Weights.Length)).ToArray());
                    }).ToList());

            DrawTrainingCurves(arms.Where(a => !a.IsBase).ToList(), "continual", Target);
            // Differences against ERM, paired by seed: the seeds' bases differ far more than the methods do, so bars of
            // the raw metric would show the spread of the bases, not the effect of the method.
            foreach (string metric in ContinualEvaluation.MetricNames(c).Where(m => m != "cloze_acc_norm"))
            {
                var info = MetricInfo.For(metric);
                Charts.Bars(Target($"continual-vs-erm-{metric.Replace('_', '-')}.png"),
                    $"{info.Title} minus ERM's, paired by seed ({(info.HigherIsBetter ? "above" : "below")} 0 is better)",
                    $"Δ {info.Title} (error bars: 95% interval)", Differences(summaries, setting, metric));
            }
        }

        if (plan.Preset.Instruct is { } i)
        {
            foreach (double noise in i.NoiseRates)
            {
                string setting = ExperimentPlan.InstructSetting(noise);
                Charts.Bars(Target($"instruct-exact-match-{ExperimentData.NoiseLabel(noise)}.png"),
                    $"Exact match on the clean test set, {100 * noise:0}% corrupted training answers (higher is better)", "exact match",
                    Bars(summaries, setting, "exact_match"));
            }
            double noisiest = i.NoiseRates.Max();
            DrawTrainingCurves(plan.Arms.Where(a => a.Setting == ExperimentPlan.InstructSetting(noisiest)).ToList(),
                $"instruct-{ExperimentData.NoiseLabel(noisiest)}", Target);
        }
        return written;
    }

    private static List<BarGroup> Differences(IReadOnlyList<MethodSummary> summaries, string setting, string metric) =>
        summaries.Where(s => s.Setting == setting && s.VersusErm.TryGetValue(metric, out var d) && d.Count > 0)
            .Select(s =>
            {
                var d = s.VersusErm[metric];
                return new BarGroup(s.Method, d.Mean, (d.High - d.Low) / 2);
            }).ToList();

    private static List<BarGroup> Bars(IReadOnlyList<MethodSummary> summaries, string setting, string metric) =>
        summaries.Where(s => s.Setting == setting && s.Metrics[metric].Count > 0)
            .Select(s => new BarGroup(s.Method, s.Metrics[metric].Mean, s.Metrics[metric].StdDev)).ToList();

    /// <summary>Per method, averaged over seeds: the weights' effective sample size over training and the validation curve.</summary>
    private static void DrawTrainingCurves(IReadOnlyList<Arm> arms, string prefix, Func<string, string> target)
    {
        var ess = new List<Series>();
        var validation = new List<Series>();
        foreach (var method in arms.GroupBy(a => a.Name))
        {
            var perSeed = method.Select(a => RunLogReader.ReadSamples(Path.Combine(a.Folder, RunFolder.SamplesFile))
                .GroupBy(r => r.Step).ToDictionary(g => g.Key, g => WeightStats.Of(g.Last().Weights).EssFraction)).ToList();
            var steps = perSeed.SelectMany(d => d.Keys).Distinct().Order().ToArray();
            ess.Add(new Series(method.Key, steps.Select(s => (double)s).ToArray(),
                steps.Select(s => perSeed.Where(d => d.ContainsKey(s)).Average(d => d[s])).ToArray()));

            var curves = method.Select(a => RunLogReader.ReadMetrics(Path.Combine(a.Folder, RunFolder.MetricsFile)).Evals
                .GroupBy(r => r.Step).ToDictionary(g => g.Key, g => g.Last().Loss)).ToList();
            var evalSteps = curves.SelectMany(d => d.Keys).Distinct().Order().ToArray();
            validation.Add(new Series(method.Key, evalSteps.Select(s => (double)s).ToArray(),
                evalSteps.Select(s => curves.Where(d => d.ContainsKey(s)).Average(d => d[s])).ToArray()));
        }
        Charts.Lines(target($"{prefix}-effective-sample-size.png"),
            $"Effective sample size of the weights ({prefix}, mean of seeds)", "step", "1/Σw² as a share of the pool", ess);
        Charts.Lines(target($"{prefix}-validation.png"), $"Validation loss ({prefix}, mean of seeds)", "step", "validation loss", validation);
    }
}
