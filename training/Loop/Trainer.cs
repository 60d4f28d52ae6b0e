using System.Diagnostics;
using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Models;
using HardFocus.Training.Data;
using HardFocus.Training.Distributed;
using HardFocus.Training.Optim;
using HardFocus.Training.Reweighting;

namespace HardFocus.Training;

/// <summary>What one optimizer step did: the pool's losses and weights in pool order, and the step's objective.
/// A <paramref name="Skipped"/> step had a non-finite loss or gradient norm: it has no weights and no objective (NaN),
/// and made no optimizer update. <paramref name="GradientSumSeconds"/> is the time the gradients took to be summed over
/// the ranks, waiting for the slowest included (null in a single process).</summary>
public sealed record StepResult(int Step, float Objective, float MeanLoss, float LearningRate, float[] Losses, double[] Weights,
    int Tokens, double Seconds, float? GradNorm, bool Skipped = false, double? GradientSumSeconds = null)
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
/// <para>Data-parallel over several ranks (<see cref="ICommunicator"/>), each micro-batch is a global one of ranks x
/// batch samples, of which each rank runs its own share (<see cref="GlobalPool"/>). The losses are gathered so that
/// every rank weights the whole global pool, each rank backpropagates its samples with their global weights, and the
/// gradients are summed (<see cref="GradientSync"/>) before every rank takes the same optimizer step: the steps of a
/// single process with the global batch, up to the order of floating-point sums.</para>
/// </summary>
public sealed class Trainer
{
    private readonly DecoderModel _model;
    private readonly IOptimizer _optimizer;
    private readonly IReweighter _reweighter;
    private readonly BatchLoader _loader;
    private readonly TrainOptions _options;
    private readonly LearningRateSchedule _schedule;
    private readonly ICommunicator _world;
    private readonly GradientSync? _gradientSync;

    /// <param name="loader">Serves global micro-batches: options.BatchSize times the number of ranks.</param>
    public Trainer(DecoderModel model, IOptimizer optimizer, IReweighter reweighter, BatchLoader loader, TrainOptions options,
        ICommunicator? world = null)
    {
        _world = world ?? SingleProcess.Instance;
        _gradientSync = _world.Size > 1 ? new GradientSync(model.Parameters().ToList(), _world) : null;
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
        var global = new Sample[_options.Patience][];
        for (int i = 0; i < global.Length; i++) global[i] = _loader.Next();
        var pool = global.Select(batch => GlobalPool.Share(batch, _world.Rank, _world.Size)).ToArray();

        _model.Training = true;
        var (losses, weights) = _options.PoolMode == PoolMode.Rescore ? RescorePool(pool, step) : KeepGraphsPool(pool, step);
        // Every rank holds the same global losses, so a non-finite pool is skipped by all of them together.
        double? sumSeconds = null;
        if (weights != null && _gradientSync != null)
        {
            var sumClock = Stopwatch.StartNew();
            _gradientSync.SumAcrossRanks();
            sumSeconds = sumClock.Elapsed.TotalSeconds;
        }
        float lr = _schedule.At(step);
        int tokens = global.Sum(batch => batch.Sum(s => s.Input.Length));

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
        return new StepResult(step, (float)objective, losses.Average(), lr, losses, weights!, tokens, clock.Elapsed.TotalSeconds, gradNorm, GradientSumSeconds: sumSeconds);
    }

    /// <summary>One forward per micro-batch; all P graphs stay alive until the pool's weights are known. Null weights
    /// (and no backward) when a loss is not finite: reweighters refuse such pools, and the step is skipped.</summary>
    private (float[] Losses, double[]? Weights) KeepGraphsPool(Sample[][] pool, int step)
    {
        using var scope = TensorScope.Begin();
        var perSample = new Tensor[pool.Length];
        for (int i = 0; i < pool.Length; i++) perSample[i] = Forward(pool[i], step, i);
        var losses = GatherPool(perSample.SelectMany(t => t.ToArray()).ToArray());
        if (!losses.All(float.IsFinite)) return (losses, null);
        var weights = _reweighter.Weights(losses);
        for (int i = 0; i < pool.Length; i++) BackwardWeighted(perSample[i], weights, i);
        return (losses, weights);
    }

    /// <summary>Scores the pool without gradients, then reruns each micro-batch with gradients: one graph in memory,
    /// two forwards. Deterministic kernels and per-micro-batch dropout seeds make both passes see the same losses.</summary>
    private (float[] Losses, double[]? Weights) RescorePool(Sample[][] pool, int step)
    {
        var mine = new List<float>();
        for (int i = 0; i < pool.Length; i++)
        {
            using var noGrad = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            mine.AddRange(Forward(pool[i], step, i).ToArray());
        }
        var losses = GatherPool(mine.ToArray());
        if (!losses.All(float.IsFinite)) return (losses, null);
        var weights = _reweighter.Weights(losses);
        for (int i = 0; i < pool.Length; i++)
        {
            using var scope = TensorScope.Begin();
            BackwardWeighted(Forward(pool[i], step, i), weights, i);
        }
        return (losses, weights);
    }

    private Tensor Forward(Sample[] batch, int step, int micro)
    {
        var (ids, targets, mask) = BatchTensors.Create(batch, _model);
        // Ranks other than 0 mix in their rank, so that no two ranks draw the same dropout masks.
        ulong rank = _world.Rank == 0 ? 0 : Rng.Mix((ulong)_world.Rank << 32);
        _model.DropoutSeed = Rng.Mix(_options.Seed ^ Rng.Mix(((ulong)step << 20) + (ulong)micro) ^ rank);
        return PerSampleLoss.Compute(_model, ids, targets, mask);
    }

    /// <summary>The global pool's losses in pool order, from this rank's (micro-batch by micro-batch).</summary>
    private float[] GatherPool(float[] mine) =>
        _world.Size == 1 ? mine : GlobalPool.InPoolOrder(_world.AllGather(mine), _world.Size, _options.Patience, _options.BatchSize);

    /// <summary>Backward of sum_i w_i l_i over this rank's share of micro-batch <paramref name="micro"/>: the weights,
    /// taken from their places in the global pool, are the seed, i.e. constants.</summary>
    private void BackwardWeighted(Tensor perSample, double[] weights, int micro)
    {
        var seed = new float[perSample.Length];
        for (int i = 0; i < seed.Length; i++)
            seed[i] = (float)weights[GlobalPool.Position(micro, i, _world.Rank, _world.Size, _options.BatchSize)];
        perSample.Backward(Tensor.FromArray(seed, perSample.Shape, perSample.Backend));
    }
}
