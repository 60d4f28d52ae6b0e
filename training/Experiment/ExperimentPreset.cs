using HardFocus.Models;
using HardFocus.Models.Gpt;
using HardFocus.Models.Llama;

namespace HardFocus.Training.Experiment;

/// <summary>
/// The paper's light continual pre-training: one base model per seed pretrained on the first part of corpus A, then every
/// method continues from it on the unseen rest of A with the same steps, learning rate and data order.
/// </summary>
public sealed record ContinualSetup(
    string Corpus, IDecoderConfig Model, int SeqLen, int BatchSize,
    int BaseSteps, float BaseLearningRate, int Steps, float LearningRate, int EvalEvery,
    double BaseShare, double HeldOutShare, string[] OutOfDomain, int OutOfDomainWindows, int ClozeItems, int ClozeContextChars,
    int ClozeContinuationChars, Method[] Methods);

/// <summary>
/// The paper's instruction tuning on generated tasks with exactly checkable answers, at several label-noise rates; each
/// method trains from the same initialisation per seed and is scored on a clean held-out set.
/// </summary>
public sealed record InstructSetup(
    IDecoderConfig Model, int SeqLen, int BatchSize, int Steps, float LearningRate, int WarmupSteps, int EvalEvery,
    int TrainExamples, int TestExamples, double[] NoiseRates, Method[] Methods);

public sealed record ExperimentPreset(string Name, string Description, ContinualSetup? Continual, InstructSetup? Instruct)
{
    public static readonly string[] Names = ["continual", "instruct", "smoke"];

    public static ExperimentPreset Get(string name) => name switch
    {
        "continual" => new(name, "light continual pre-training on Moby-Dick, evaluated in and out of domain", ContinualFull, null),
        "instruct" => new(name, "instruction tuning on generated tasks with 0%, 10% and 30% corrupted answers", null, InstructFull),
        "smoke" => new(name, "both pipelines at toy size (about a minute on 2 cores)", ContinualSmoke, InstructSmoke),
        _ => throw new Cli.UserError($"Unknown preset '{name}': use {string.Join(", ", Names)}."),
    };

    /// <summary>The same settings on the user's own corpora: A for pretraining and continual training, and the
    /// out-of-domain ones for evaluation (each a file, folder or builtin:NAME, as --corpus takes).</summary>
    public ExperimentPreset WithCorpora(string? corpus, IReadOnlyList<string>? outOfDomain) => this with
    {
        Continual = Continual is { } c ? c with
        {
            Corpus = corpus ?? c.Corpus,
            OutOfDomain = outOfDomain is { Count: > 0 } ? [.. outOfDomain] : c.OutOfDomain,
        } : null,
    };

    /// <summary>The model families an experiment can train: the presets are GPT shapes, and llama trains each as
    /// <see cref="LlamaConfig.Like"/> makes it.</summary>
    public static readonly string[] Families = ["gpt2", "llama"];

    /// <summary>The same settings with every model of the given family.</summary>
    public ExperimentPreset WithFamily(string family)
    {
        Func<IDecoderConfig, IDecoderConfig> convert = family switch
        {
            "gpt2" => m => m,
            "llama" => m => m is GptConfig gpt ? LlamaConfig.Like(gpt) : m,
            _ => throw new Cli.UserError($"Unknown --model '{family}': use {string.Join(" or ", Families)}."),
        };
        return this with
        {
            Continual = Continual is { } c ? c with { Model = convert(c.Model) } : null,
            Instruct = Instruct is { } i ? i with { Model = convert(i.Model) } : null,
        };
    }

    /// <summary>A corpus's short name in metric names: the builtin name, or the file or folder name without extension.</summary>
    public static string CorpusLabel(string corpus)
    {
        string name = corpus.StartsWith("builtin:", StringComparison.Ordinal) ? corpus["builtin:".Length..]
            : Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(corpus));
        var safe = new string(name.ToLowerInvariant().Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '-').ToArray()).Trim('-');
        return safe.Length > 0 ? safe : "corpus";
    }

    /// <summary>The same settings with every step count multiplied by <paramref name="scale"/> (at least one step).</summary>
    public ExperimentPreset Scaled(double scale)
    {
        int S(int steps) => Math.Max(1, (int)Math.Round(steps * scale));
        return this with
        {
            Continual = Continual is { } c ? c with { BaseSteps = S(c.BaseSteps), Steps = S(c.Steps), EvalEvery = S(c.EvalEvery) } : null,
            Instruct = Instruct is { } i ? i with { Steps = S(i.Steps), WarmupSteps = Math.Min(i.WarmupSteps, S(i.Steps) / 4), EvalEvery = S(i.EvalEvery) } : null,
        };
    }

    /// <summary>Every method of the continual comparison. MidRanking keeps a quarter of each pool and CVaR about a third, so
    /// they also run with pools 4 and 3 times larger: about the same samples in the gradient as ERM, not a fraction.</summary>
    private static Method[] ContinualMethods()
    {
        var midrank0 = new Method("midrank-p0", ReweightMethod.Midrank, Portion: 0);
        var midrank1 = new Method("midrank-p1", ReweightMethod.Midrank, Portion: 1);
        // alpha 0.3: with alpha·n an integer (0.25 of 8) CVaR's weights are exactly midrank-p0's.
        var cvar = new Method("cvar-0.3", ReweightMethod.Cvar, Alpha: 0.3);
        return
        [
            new("erm", ReweightMethod.Erm),
            midrank0, midrank1,
            new("irdro-0.05", ReweightMethod.Irdro, Lambda: 0.05),
            new("irdro-0.1", ReweightMethod.Irdro, Lambda: 0.1),
            new("irdro-0.3", ReweightMethod.Irdro, Lambda: 0.3),
            cvar,
            new("trimmed-irdro", ReweightMethod.TrimmedIrdro, Lambda: 0.1, Trim: 0.125),
            new("midloss", ReweightMethod.Midloss, Lambda: 0.5),
            new("running-irdro", ReweightMethod.RunningIrdro, Lambda: 1.0),
            midrank0.EqualSamples(0.25), midrank1.EqualSamples(0.25), cvar.EqualSamples(0.3),
        ];
    }

    /// <summary>The instruction comparison: one IR-DRO temperature and no equal-samples twins, to keep 3 noise rates
    /// times 3 seeds within reach of a CPU.</summary>
    private static Method[] InstructMethods() =>
    [
        new("erm", ReweightMethod.Erm),
        new("midrank-p0", ReweightMethod.Midrank, Portion: 0),
        new("midrank-p1", ReweightMethod.Midrank, Portion: 1),
        new("irdro-0.2", ReweightMethod.Irdro, Lambda: 0.2),
        new("cvar-0.3", ReweightMethod.Cvar, Alpha: 0.3),
        new("trimmed-irdro", ReweightMethod.TrimmedIrdro, Lambda: 0.2, Trim: 0.125),
        new("midloss", ReweightMethod.Midloss, Lambda: 0.5),
        new("running-irdro", ReweightMethod.RunningIrdro, Lambda: 1.0),
    ];

    private static readonly ContinualSetup ContinualFull = new(
        Corpus: "builtin:moby-dick",
        Model: new GptConfig { VocabSize = 256, ContextLength = 128, Layers = 4, Heads = 4, Width = 128 },
        SeqLen: 128, BatchSize: 8, BaseSteps: 800, BaseLearningRate: 2e-3f, Steps: 100, LearningRate: 3e-4f, EvalEvery: 20,
        BaseShare: 0.7, HeldOutShare: 0.15, OutOfDomain: ["builtin:sotu", "builtin:fortunes"], OutOfDomainWindows: 256,
        ClozeItems: 300, ClozeContextChars: 90, ClozeContinuationChars: 30, Methods: ContinualMethods());

    private static readonly ContinualSetup ContinualSmoke = ContinualFull with
    {
        Model = new GptConfig { VocabSize = 256, ContextLength = 32, Layers = 1, Heads = 2, Width = 32 },
        SeqLen = 32, BatchSize = 8, BaseSteps = 20, Steps = 6, EvalEvery = 3, OutOfDomainWindows = 16,
        ClozeItems = 16, ClozeContextChars = 20, ClozeContinuationChars = 8,
    };

    private static readonly InstructSetup InstructFull = new(
        Model: new GptConfig { VocabSize = 256, ContextLength = 32, Layers = 2, Heads = 4, Width = 128 },
        SeqLen: 32, BatchSize: 32, Steps: 400, LearningRate: 3e-3f, WarmupSteps: 20, EvalEvery: 100,
        TrainExamples: 6000, TestExamples: 500, NoiseRates: [0, 0.1, 0.3], Methods: InstructMethods());

    private static readonly InstructSetup InstructSmoke = InstructFull with
    {
        Model = new GptConfig { VocabSize = 256, ContextLength = 32, Layers = 1, Heads = 2, Width = 32 },
        BatchSize = 8, Steps = 6, WarmupSteps = 0, EvalEvery = 3, TrainExamples = 200, TestExamples = 40, NoiseRates = [0, 0.3],
        Methods = [.. InstructMethods().Where(m => m.Name is "erm" or "midrank-p1" or "irdro-0.2")],
    };
}
