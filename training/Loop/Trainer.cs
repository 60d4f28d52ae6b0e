using System.Diagnostics;
using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Models;
using HardFocus.Training.Data;
using HardFocus.Training.Optim;
using HardFocus.Training.Reweighting;

namespace HardFocus.Training;

/// <summary>What one optimizer step did: the pool's losses and weights in pool order, and the step's objective.
/// A <paramref name="Skipped"/> step had a non-finite loss or gradient norm: it has no weights and no objective (NaN),
/// and made no optimizer update.</summary>
public sealed record StepResult(int Step, float Objective, float MeanLoss, float LearningRate, float[] Losses, double[] Weights,
    int Tokens, double Seconds, float? GradNorm, bool Skipped = false)
{
    public double TokensPerSecond => Seconds > 0 ? Tokens / Seconds : 0;
}

/// <summary>
/// One optimizer step per pool of <c>Patience</c> micro-batches: per-sample losses, weights from the reweighter over
/// the whole pool (only those losses travel to the host), backward of sum_i w_i l_i with the weights as constants,
/// optional clipping, then the optimizer. Dropout seeds derive from (seed, step, micro-batch), so a run is a pure
/// function of its options and data position, which is what makes resuming exact. A pool whose loss or gradient norm
/// is not finite is skipped: no update, gradients zeroed, and the step number is not used up, so the next call tries
/// the same step on the next pool. Whether to go on after that is the caller's decision.
/// </summary>
public sealed class Trainer
{
    private readonly DecoderModel _model;
    private readonly IOptimizer _optimizer;
    private readonly IReweighter _reweighter;
    private readonly BatchLoader _loader;
    private readonly TrainOptions _options;
    private readonly LearningRateSchedule _schedule;

    public Trainer(DecoderModel model, IOptimizer optimizer, IReweighter reweighter, BatchLoader loader, TrainOptions options)
    {
        _model = model;
        _optimizer = optimizer;
        _reweighter = reweighter;
        _loader = loader;
        _options = options;
        _schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, options.Steps, Cosine: options.Schedule == LrSchedule.Cosine);
    }

    /// <summary>Optimizer steps taken so far (the step the next call will report is this plus one).</summary>
    public int StepsDone => _optimizer.StepCount;

    public StepResult Step()
    {
        var clock = Stopwatch.StartNew();
        int step = StepsDone + 1;
        var pool = new Sample[_options.Patience][];
        for (int i = 0; i < pool.Length; i++) pool[i] = _loader.Next();

        _model.Training = true;
        var (losses, weights) = _options.PoolMode == PoolMode.Rescore ? RescorePool(pool, step) : KeepGraphsPool(pool, step);
        float lr = _schedule.At(step);
        int tokens = pool.Sum(batch => batch.Sum(s => s.Input.Length));

        // The norm is read only when it is needed: it costs a pass over the gradients and a value back from the device.
        float? gradNorm = weights == null ? null
            : _options.ClipNorm > 0 ? GradientClipping.ClipGlobalNorm(_model.Parameters(), _options.ClipNorm)
            : _options.MaxBadSteps > 0 ? GradientClipping.GlobalNorm(_model.Parameters())
            : null;
        bool skipped = weights == null || gradNorm is float norm && !float.IsFinite(norm);
        if (!skipped) _optimizer.Step(lr);
        _model.ZeroGrad();
        if (skipped)
            return new StepResult(step, float.NaN, losses.Average(), lr, losses, [], tokens, clock.Elapsed.TotalSeconds, gradNorm, Skipped: true);

        double objective = 0;
        for (int i = 0; i < losses.Length; i++) objective += weights![i] * losses[i];
        return new StepResult(step, (float)objective, losses.Average(), lr, losses, weights!, tokens, clock.Elapsed.TotalSeconds, gradNorm);
    }

    /// <summary>One forward per micro-batch; all P graphs stay alive until the pool's weights are known. Null weights
    /// (and no backward) when a loss is not finite: reweighters refuse such pools, and the step is skipped.</summary>
    private (float[] Losses, double[]? Weights) KeepGraphsPool(Sample[][] pool, int step)
    {
        using var scope = TensorScope.Begin();
        var perSample = new Tensor[pool.Length];
        for (int i = 0; i < pool.Length; i++) perSample[i] = Forward(pool[i], step, i);
        var losses = perSample.SelectMany(t => t.ToArray()).ToArray();
        if (!losses.All(float.IsFinite)) return (losses, null);
        var weights = _reweighter.Weights(losses);
        for (int i = 0; i < pool.Length; i++) BackwardWeighted(perSample[i], weights, i * _options.BatchSize);
        return (losses, weights);
    }

    /// <summary>Scores the pool without gradients, then reruns each micro-batch with gradients: one graph in memory,
    /// two forwards. Deterministic kernels and per-micro-batch dropout seeds make both passes see the same losses.</summary>
    private (float[] Losses, double[]? Weights) RescorePool(Sample[][] pool, int step)
    {
        var losses = new List<float>();
        for (int i = 0; i < pool.Length; i++)
        {
            using var noGrad = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            losses.AddRange(Forward(pool[i], step, i).ToArray());
        }
        if (!losses.All(float.IsFinite)) return (losses.ToArray(), null);
        var weights = _reweighter.Weights(losses.ToArray());
        for (int i = 0; i < pool.Length; i++)
        {
            using var scope = TensorScope.Begin();
            BackwardWeighted(Forward(pool[i], step, i), weights, i * _options.BatchSize);
        }
        return (losses.ToArray(), weights);
    }

    private Tensor Forward(Sample[] batch, int step, int micro)
    {
        var (ids, targets, mask) = BatchTensors.Create(batch, _model.Backend);
        _model.DropoutSeed = Rng.Mix(_options.Seed ^ Rng.Mix(((ulong)step << 20) + (ulong)micro));
        return PerSampleLoss.Compute(_model, ids, targets, mask);
    }

    /// <summary>Backward of sum_i w_i l_i over one micro-batch: the weights are the seed, i.e. constants.</summary>
    private static void BackwardWeighted(Tensor perSample, double[] weights, int offset)
    {
        var seed = new float[perSample.Length];
        for (int i = 0; i < seed.Length; i++) seed[i] = (float)weights[offset + i];
        perSample.Backward(Tensor.FromArray(seed, perSample.Shape, perSample.Backend));
    }
}
