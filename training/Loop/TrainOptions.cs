using HardFocus.Training.Data;

namespace HardFocus.Training;

/// <summary>Everything that decides a run's numbers. Stored in trainer.json so a resumed run continues identically.</summary>
public sealed record TrainOptions
{
    public string Model { get; init; } = "small";
    public string Tokenizer { get; init; } = "bytes";
    public string? Corpus { get; init; }
    public string? Instruct { get; init; }
    public string Reweight { get; init; } = "erm";
    public double Lambda { get; init; } = 1.0;
    public double Frac { get; init; } = 0.5;
    public int Portion { get; init; } = 1;
    public int Patience { get; init; } = 1;
    /// <summary>"graphs" keeps the pool's P graphs alive until the weights are known (P x activation memory, one forward);
    /// "rescore" scores the pool without gradients, then reruns each micro-batch with gradients (one graph, two forwards).</summary>
    public string PoolMode { get; init; } = "graphs";
    public int Steps { get; init; } = 300;
    public int BatchSize { get; init; } = 8;
    public int SeqLen { get; init; } = 128;
    public float LearningRate { get; init; } = 1e-3f;
    public string Schedule { get; init; } = "constant";
    public int WarmupSteps { get; init; } = 30;
    public string Optimizer { get; init; } = "adamw";
    public float WeightDecay { get; init; } = 0.01f;
    public float ClipNorm { get; init; }
    public float Dropout { get; init; }
    public ulong Seed { get; init; } = 1;
    public int EvalEvery { get; init; } = 100;
    public int SaveEvery { get; init; } = 100;
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
        Require(PoolMode is "graphs" or "rescore", $"--pool-mode must be graphs or rescore, got '{PoolMode}'.");
        Require(Schedule is "constant" or "cosine", $"--schedule must be constant or cosine, got '{Schedule}'.");
        Require(Optimizer is "adamw" or "sgd", $"--optimizer must be adamw or sgd, got '{Optimizer}'.");
        Require(WarmupSteps >= 0, $"--warmup must not be negative, got {WarmupSteps}.");
        Require(ClipNorm >= 0, $"--clip-norm must not be negative, got {ClipNorm}.");
        Require(EvalEvery >= 0 && SaveEvery >= 0, "--eval-every and --save-every must not be negative.");
        Require(ValFraction is >= 0 and < 1, $"--val-fraction must be in [0, 1), got {ValFraction}.");
        Require(Corpus == null || Instruct == null, "Give either --corpus or --instruct, not both.");
        Reweighting.ReweighterFactory.Create(Reweight, Lambda, Frac, Portion);
    }
}
