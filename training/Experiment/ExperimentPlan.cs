using HardFocus.Training.Data;

namespace HardFocus.Training.Experiment;

/// <summary>
/// One training run of an experiment: a method (or, with <see cref="Method"/> null, a base model) under one setting and
/// one seed, in its own ordinary run folder.
/// </summary>
public sealed record Arm(string Setting, Method? Method, int Seed, string Folder, TrainOptions Options, string? Init)
{
    public bool IsBase => Method == null;
    public string Name => Method?.Name ?? "base";

    /// <summary>How results label the arm's budget: the base, or the budget its method is compared at.</summary>
    public string BudgetLabel => IsBase ? "base" : Method!.Budget == Budget.EqualSamples ? "equal samples" : "equal steps";

    /// <summary>Tokens pushed through the model, for estimating time left: a pool of P micro-batches costs P.</summary>
    public double Cost => (double)Options.Steps * Options.Patience * Options.BatchSize * Options.SeqLen;
}

/// <summary>Every arm of an experiment, in the order they run: per setting and seed, the base (if any) before the
/// methods that start from it.</summary>
public sealed record ExperimentPlan(ExperimentPreset Preset, int Seeds, string Root, IReadOnlyList<Arm> Arms)
{
    public const string ContinualSetting = "continual";
    public static string InstructSetting(double noise) => "instruct-" + ExperimentData.NoiseLabel(noise);

    public string DataDir => Path.Combine(Root, "data");

    public static ExperimentPlan Build(ExperimentPreset preset, int seeds, string root)
    {
        var arms = new List<Arm>();
        string data = Path.Combine(root, "data");
        Directory.CreateDirectory(data);
        if (preset.Continual is { } c)
        {
            var (baseCorpus, stream) = ExperimentData.ContinualCorpora(data, c);
            string model = WriteModel(data, "continual-model.json", c.Model);
            for (int seed = 1; seed <= seeds; seed++)
            {
                string dir = Path.Combine(root, "continual", $"seed-{seed}");
                var baseOptions = new TrainOptions
                {
                    Model = model, Tokenizer = "bytes", Corpus = baseCorpus, Steps = c.BaseSteps, BatchSize = c.BatchSize, SeqLen = c.SeqLen,
                    LearningRate = c.BaseLearningRate, Schedule = LrSchedule.Cosine, WarmupSteps = Math.Min(30, c.BaseSteps / 4),
                    Seed = (ulong)seed, EvalEvery = Math.Max(1, c.BaseSteps / 4), SaveEvery = Math.Max(1, c.BaseSteps / 4), EvalBatches = 8,
                    ValFraction = 0.02,
                };
                string baseFolder = Path.Combine(dir, "base");
                arms.Add(new Arm(ContinualSetting, null, seed, baseFolder, baseOptions, null));
                // Same steps, rate, seed and so data order for every method; only the reweighting (and pool) differs.
                var common = new TrainOptions
                {
                    Model = model, Tokenizer = "bytes", Corpus = stream, Steps = c.Steps, BatchSize = c.BatchSize, SeqLen = c.SeqLen,
                    LearningRate = c.LearningRate, Schedule = LrSchedule.Constant, WarmupSteps = 0, Seed = (ulong)seed,
                    EvalEvery = c.EvalEvery, SaveEvery = c.EvalEvery, EvalBatches = 16, ValFraction = c.HeldOutShare,
                };
                foreach (var method in c.Methods)
                    arms.Add(new Arm(ContinualSetting, method, seed, Path.Combine(dir, method.Name), method.Apply(common), baseFolder));
            }
        }
        if (preset.Instruct is { } i)
        {
            var (_, train) = ExperimentData.InstructionSets(data, i);
            string model = WriteModel(data, "instruct-model.json", i.Model);
            foreach (double noise in i.NoiseRates)
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var common = new TrainOptions
                    {
                        Model = model, Tokenizer = "bytes", Instruct = train[noise], Template = PromptTemplate.Compact,
                        Steps = i.Steps, BatchSize = i.BatchSize, SeqLen = i.SeqLen, LearningRate = i.LearningRate,
                        Schedule = LrSchedule.Cosine, WarmupSteps = i.WarmupSteps, Seed = (ulong)seed, EvalEvery = i.EvalEvery,
                        SaveEvery = i.EvalEvery, EvalBatches = 8, ValFraction = 0.05,
                    };
                    string dir = Path.Combine(root, "instruct", ExperimentData.NoiseLabel(noise), $"seed-{seed}");
                    foreach (var method in i.Methods)
                        arms.Add(new Arm(InstructSetting(noise), method, seed, Path.Combine(dir, method.Name), method.Apply(common), null));
                }
        }
        return new ExperimentPlan(preset, seeds, root, arms);
    }

    private static string WriteModel(string dataDir, string name, HardFocus.Models.IDecoderConfig config)
    {
        string path = Path.Combine(dataDir, name);
        if (!File.Exists(path)) RunFolder.WriteAtomically(path, config.ToJson());
        return path;
    }
}
