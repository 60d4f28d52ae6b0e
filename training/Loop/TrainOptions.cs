using System.Text.Json.Serialization;
using HardFocus.Training.Data;

namespace HardFocus.Training;

/// <summary>How the pool's losses become weights (docs/method.md has each formula).</summary>
public enum ReweightMethod { Erm, Midrank, Irdro, Cvar, TrimmedIrdro, Midloss, RunningIrdro }

public enum LrSchedule { Constant, Cosine }

public enum OptimizerKind { Adamw, Sgd }

/// <summary>Graphs keeps the pool's P graphs alive until the weights are known (P x activation memory, one forward);
/// Rescore scores the pool without gradients, then reruns each micro-batch with gradients (one graph, two forwards).</summary>
public enum PoolMode { Graphs, Rescore }

/// <summary>Everything that decides a run's numbers. Stored in trainer.json so a resumed run continues identically.
/// [JsonRequired] marks what every trainer.json has held since options were enums: a hand-edited file that lacks one is
/// refused rather than silently given today's default. Options added later stay optional, so older files still load.</summary>
public sealed record TrainOptions
{
    [JsonRequired] public string Model { get; init; } = "small";
    [JsonRequired] public string Tokenizer { get; init; } = "bytes";
    public string? Corpus { get; init; }
    public string? Instruct { get; init; }
    public PromptTemplate Template { get; init; } = PromptTemplate.Alpaca;
    /// <summary>How invalid UTF-8 in the corpus or instruction file is met. <see cref="RunFolder.LoadTrainerState"/> reads
    /// a file from before this option as <see cref="EncodingErrors.Replace"/>, which is what the code that wrote it did.</summary>
    public EncodingErrors EncodingErrors { get; init; } = EncodingErrors.Strict;
    [JsonRequired] public ReweightMethod Reweight { get; init; } = ReweightMethod.Erm;
    /// <summary>Softmax temperature of irdro, trimmed-irdro and midloss; for running-irdro, in units of the loss spread.</summary>
    [JsonRequired] public double Lambda { get; init; } = 1.0;
    [JsonRequired] public double Frac { get; init; } = 0.5;
    [JsonRequired] public int Portion { get; init; } = 1;
    /// <summary>CVaR's tail: the share of the pool whose mean loss is maximised.</summary>
    public double Alpha { get; init; } = 0.25;
    /// <summary>Trimmed IR-DRO's share of the highest losses dropped before the softmax.</summary>
    public double Trim { get; init; } = 0.1;
    [JsonRequired] public int Patience { get; init; } = 1;
    [JsonRequired] public PoolMode PoolMode { get; init; } = PoolMode.Graphs;
    [JsonRequired] public int Steps { get; init; } = 300;
    [JsonRequired] public int BatchSize { get; init; } = 8;
    [JsonRequired] public int SeqLen { get; init; } = 128;
    [JsonRequired] public float LearningRate { get; init; } = 1e-3f;
    [JsonRequired] public LrSchedule Schedule { get; init; } = LrSchedule.Constant;
    [JsonRequired] public int WarmupSteps { get; init; } = 30;
    [JsonRequired] public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adamw;
    [JsonRequired] public float WeightDecay { get; init; } = 0.01f;
    [JsonRequired] public float ClipNorm { get; init; }
    [JsonRequired] public float Dropout { get; init; }
    [JsonRequired] public ulong Seed { get; init; } = 1;
    [JsonRequired] public int EvalEvery { get; init; } = 100;
    [JsonRequired] public int SaveEvery { get; init; } = 100;
    /// <summary>Consecutive steps with a non-finite loss or gradient norm that are skipped before the run stops.</summary>
    public int MaxBadSteps { get; init; }
    [JsonRequired] public int EvalBatches { get; init; } = 16;
    [JsonRequired] public double ValFraction { get; init; } = 0.05;
    [JsonRequired] public PaddingSide Padding { get; init; } = PaddingSide.Left;

    /// <summary>The range of every numeric option, each named in `train --help`. Wide enough for any run this code can
    /// carry out; their point is that no value makes it allocate or loop without end.</summary>
    public static class Bounds
    {
        public static readonly OptionBound Steps = OptionBound.Integer("--steps", 1, 10_000_000);
        public static readonly OptionBound BatchSize = OptionBound.Integer("--batch-size", 1, 4096);
        public static readonly OptionBound SeqLen = OptionBound.Integer("--seq-len", 1, 65_536);
        public static readonly OptionBound Patience = OptionBound.Integer("--patience", 1, 4096);
        public static readonly OptionBound Portion = OptionBound.Integer("--portion", 0, 4095);
        public static readonly OptionBound Warmup = OptionBound.Integer("--warmup", 0, 10_000_000);
        public static readonly OptionBound EvalEvery = OptionBound.Integer("--eval-every", 0, 10_000_000);
        public static readonly OptionBound SaveEvery = OptionBound.Integer("--save-every", 0, 10_000_000);
        public static readonly OptionBound EvalBatches = OptionBound.Integer("--eval-batches", 1, 100_000);
        public static readonly OptionBound MaxBadSteps = OptionBound.Integer("--max-bad-steps", 0, 10_000);
        public static readonly OptionBound LearningRate = OptionBound.Real("--lr", 0, 1e32, aboveMin: true); // any finite rate: divergence is caught as it happens
        public static readonly OptionBound WeightDecay = OptionBound.Real("--weight-decay", 0, 10);
        public static readonly OptionBound ClipNorm = OptionBound.Real("--clip-norm", 0, 1_000_000);
        public static readonly OptionBound Dropout = OptionBound.Real("--dropout", 0, 1, belowMax: true);
        public static readonly OptionBound Lambda = OptionBound.Real("--lambda", 0, 1_000_000, aboveMin: true);
        public static readonly OptionBound Frac = OptionBound.Real("--frac", 0, 1, aboveMin: true);
        public static readonly OptionBound Alpha = OptionBound.Real("--alpha", 0, 1, aboveMin: true);
        public static readonly OptionBound Trim = OptionBound.Real("--trim", 0, 1, belowMax: true);
        public static readonly OptionBound ValFraction = OptionBound.Real("--val-fraction", 0, 1, belowMax: true);

        public static IReadOnlyList<OptionBound> All { get; } =
        [
            Steps, BatchSize, SeqLen, Patience, Portion, Warmup, EvalEvery, SaveEvery, EvalBatches, MaxBadSteps, LearningRate, WeightDecay, ClipNorm,
            Dropout, Lambda, Frac, Alpha, Trim, ValFraction,
        ];
    }

    /// <summary>Checks every option against its range; the message names the command-line option.</summary>
    public void Validate()
    {
        if (FirstProblem((option, _) => option) is { } problem) throw new ArgumentException(problem);
    }

    /// <summary>Checks options read back from <paramref name="file"/>; the message names the file and the field.</summary>
    public void ValidateStored(string file)
    {
        if (FirstProblem((_, field) => $"Options.{field}") is { } problem) throw new InvalidDataException($"{file}: {problem}");
    }

    /// <summary>The first problem, with each value called what <paramref name="name"/> makes of (option, field).</summary>
    private string? FirstProblem(Func<string, string, string> name)
    {
        // Checked whatever --reweight is, so a typo in an unused knob is still caught.
        (OptionBound Bound, string Field, IConvertible Value)[] values =
        [
            (Bounds.Steps, nameof(Steps), Steps), (Bounds.BatchSize, nameof(BatchSize), BatchSize), (Bounds.SeqLen, nameof(SeqLen), SeqLen),
            (Bounds.Patience, nameof(Patience), Patience), (Bounds.Portion, nameof(Portion), Portion), (Bounds.Warmup, nameof(WarmupSteps), WarmupSteps),
            (Bounds.EvalEvery, nameof(EvalEvery), EvalEvery), (Bounds.SaveEvery, nameof(SaveEvery), SaveEvery),
            (Bounds.EvalBatches, nameof(EvalBatches), EvalBatches), (Bounds.MaxBadSteps, nameof(MaxBadSteps), MaxBadSteps),
            (Bounds.LearningRate, nameof(LearningRate), LearningRate),
            (Bounds.WeightDecay, nameof(WeightDecay), WeightDecay), (Bounds.ClipNorm, nameof(ClipNorm), ClipNorm), (Bounds.Dropout, nameof(Dropout), Dropout),
            (Bounds.Lambda, nameof(Lambda), Lambda), (Bounds.Frac, nameof(Frac), Frac), (Bounds.Alpha, nameof(Alpha), Alpha), (Bounds.Trim, nameof(Trim), Trim),
            (Bounds.ValFraction, nameof(ValFraction), ValFraction),
        ];
        foreach (var (bound, field, value) in values)
            if (bound.Problem(name(bound.Option, field), value) is { } problem) return problem;
        if (Corpus != null && Instruct != null)
            return $"Both {name("--corpus", nameof(Corpus))} and {name("--instruct", nameof(Instruct))} are given; use one.";
        if (Reweight == ReweightMethod.Midrank && MidrankBlockStart() is var (start, pool) && start >= pool)
            return $"{name("--portion", nameof(Portion))} {Portion} starts MidRanking's block at rank {start}, but a pool holds only {pool} samples " +
                $"({name("--batch-size", nameof(BatchSize))} x {name("--patience", nameof(Patience))}); lower the portion or raise {name("--frac", nameof(Frac))}.";
        return null;
    }

    /// <summary>Where MidRanking's kept block starts in a pool, and the pool's size (see <see cref="Reweighting.MidRanking"/>).</summary>
    private (long Start, long Pool) MidrankBlockStart()
    {
        long pool = (long)BatchSize * Patience;
        return (Portion * Math.Max(1, (long)Math.Floor(Frac * pool)), pool);
    }
}
