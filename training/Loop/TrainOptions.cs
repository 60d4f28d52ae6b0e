using HardFocus.Training.Data;

namespace HardFocus.Training;

/// <summary>How the pool's losses become weights (docs/method.md has each formula).</summary>
public enum ReweightMethod { Erm, Midrank, Irdro, Cvar, TrimmedIrdro, Midloss, RunningIrdro }

public enum LrSchedule { Constant, Cosine }

public enum OptimizerKind { Adamw, Sgd }

/// <summary>Graphs keeps the pool's P graphs alive until the weights are known (P x activation memory, one forward);
/// Rescore scores the pool without gradients, then reruns each micro-batch with gradients (one graph, two forwards).</summary>
public enum PoolMode { Graphs, Rescore }

/// <summary>Everything that decides a run's numbers. Stored in trainer.json so a resumed run continues identically.</summary>
public sealed record TrainOptions
{
    public string Model { get; init; } = "small";
    public string Tokenizer { get; init; } = "bytes";
    public string? Corpus { get; init; }
    public string? Instruct { get; init; }
    public PromptTemplate Template { get; init; } = PromptTemplate.Alpaca;
    public ReweightMethod Reweight { get; init; } = ReweightMethod.Erm;
    /// <summary>Softmax temperature of irdro, trimmed-irdro and midloss; for running-irdro, in units of the loss spread.</summary>
    public double Lambda { get; init; } = 1.0;
    public double Frac { get; init; } = 0.5;
    public int Portion { get; init; } = 1;
    /// <summary>CVaR's tail: the share of the pool whose mean loss is maximised.</summary>
    public double Alpha { get; init; } = 0.25;
    /// <summary>Trimmed IR-DRO's share of the highest losses dropped before the softmax.</summary>
    public double Trim { get; init; } = 0.1;
    public int Patience { get; init; } = 1;
    public PoolMode PoolMode { get; init; } = PoolMode.Graphs;
    public int Steps { get; init; } = 300;
    public int BatchSize { get; init; } = 8;
    public int SeqLen { get; init; } = 128;
    public float LearningRate { get; init; } = 1e-3f;
    public LrSchedule Schedule { get; init; } = LrSchedule.Constant;
    public int WarmupSteps { get; init; } = 30;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adamw;
    public float WeightDecay { get; init; } = 0.01f;
    public float ClipNorm { get; init; }
    public float Dropout { get; init; }
    public ulong Seed { get; init; } = 1;
    public int EvalEvery { get; init; } = 100;
    public int SaveEvery { get; init; } = 100;
    /// <summary>Consecutive steps with a non-finite loss or gradient norm that are skipped before the run stops.</summary>
    public int MaxBadSteps { get; init; }
    public int EvalBatches { get; init; } = 16;
    public double ValFraction { get; init; } = 0.05;
    public PaddingSide Padding { get; init; } = PaddingSide.Left;

    public void Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        Require(Steps > 0, $"--steps must be positive, got {Steps}.");
        Require(BatchSize > 0, $"--batch-size must be positive, got {BatchSize}.");
        Require(SeqLen > 0, $"--seq-len must be positive, got {SeqLen}.");
        Require(Patience > 0, $"--patience must be positive, got {Patience}.");
        Require(LearningRate > 0 && float.IsFinite(LearningRate), $"--lr must be a positive number, got {LearningRate}.");
        Require(WarmupSteps >= 0, $"--warmup must not be negative, got {WarmupSteps}.");
        Require(ClipNorm >= 0, $"--clip-norm must not be negative, got {ClipNorm}.");
        Require(EvalEvery >= 0 && SaveEvery >= 0, "--eval-every and --save-every must not be negative.");
        Require(MaxBadSteps >= 0, $"--max-bad-steps must not be negative, got {MaxBadSteps}.");
        Require(ValFraction is >= 0 and < 1, $"--val-fraction must be in [0, 1), got {ValFraction}.");
        Require(Corpus == null || Instruct == null, "Give either --corpus or --instruct, not both.");
        // Checked whatever --reweight is, so a typo in an unused knob is still caught.
        Require(Lambda > 0 && double.IsFinite(Lambda), $"--lambda must be a positive finite number, got {Lambda}.");
        Require(Frac is > 0 and <= 1, $"--frac must be in (0, 1], got {Frac}.");
        Require(Portion >= 0, $"--portion must not be negative, got {Portion}.");
        Require(Alpha is > 0 and <= 1, $"--alpha must be in (0, 1], got {Alpha}.");
        Require(Trim is >= 0 and < 1, $"--trim must be in [0, 1), got {Trim}.");
    }
}
