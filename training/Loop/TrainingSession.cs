using HardFocus.Engine.Backends;
using HardFocus.Engine;
using HardFocus.Models;
using HardFocus.Training.Data;
using HardFocus.Training.Distributed;
using HardFocus.Training.Optim;
using HardFocus.Training.Reweighting;
using HardFocus.Training.Text;

namespace HardFocus.Training;

/// <summary>Everything one run needs, built from its options: tokenizer, data splits, model, optimizer, reweighter, loader.
/// Under data parallelism every rank builds the same session; <paramref name="world"/> says which share of each batch is
/// its own.</summary>
public sealed class TrainingSession : IDisposable
{
    public TrainingSession(TrainOptions options, IBackend backend, IDecoderConfig? config = null, ICommunicator? world = null)
    {
        options.Validate();
        Options = options;
        World = world ?? SingleProcess.Instance;
        Tokenizer = TokenizerFactory.Create(options.Tokenizer);
        (Train, Validation) = LoadData(options, Tokenizer);
        int globalBatch = options.BatchSize * World.Size;
        if (Train.Count < globalBatch)
            throw new ArgumentException(World.Size == 1
                ? $"The training split has {Train.Count} sequences, fewer than --batch-size {options.BatchSize}."
                : $"The training split has {Train.Count} sequences, fewer than the global batch of {globalBatch} (--batch-size {options.BatchSize} on each of {World.Size} ranks).");

        config ??= DecoderConfigs.Resolve(options.Model, Tokenizer.VocabSize).WithDropout(options.Dropout);
        // A checkpoint's embedding may have spare rows (Qwen2's is padded past its tokenizer); it may not have too few.
        if (config.VocabSize < Tokenizer.VocabSize)
            throw new ArgumentException($"The model's vocabulary ({config.VocabSize}) is smaller than the {Tokenizer.Name} tokenizer's ({Tokenizer.VocabSize}).");
        if (options.SeqLen > config.ContextLength)
            throw new ArgumentException($"--seq-len {options.SeqLen} exceeds the model's context length {config.ContextLength}.");

        Model = config.CreateModel(backend, options.Seed);
        var named = Model.NamedParameters().ToList();
        Optimizer = options.Optimizer switch
        {
            OptimizerKind.Adamw => new AdamW(named, weightDecay: options.WeightDecay),
            OptimizerKind.Sgd => new Sgd(named, momentum: 0.9f, weightDecay: options.WeightDecay),
            _ => throw new ArgumentOutOfRangeException(nameof(options), $"Unknown optimizer {options.Optimizer}."),
        };
        Reweighter = ReweighterFactory.Create(options);
        Loader = new BatchLoader(Train, globalBatch, options.Seed);
        Trainer = new Trainer(Model, Optimizer, Reweighter, Loader, options, World);
    }

    public TrainOptions Options { get; }
    public ICommunicator World { get; }
    public ITokenizer Tokenizer { get; }
    public IReadOnlyList<Sample> Train { get; }
    public IReadOnlyList<Sample> Validation { get; }
    public DecoderModel Model { get; }
    public IOptimizer Optimizer { get; }
    public IReweighter Reweighter { get; }
    public BatchLoader Loader { get; }
    public Trainer Trainer { get; }

    public TrainerState State() =>
        new(Trainer.StepsDone, Loader.State, Options, Model.Backend.Name, (Reweighter as IStatefulReweighter)?.SaveState(), Ranks: World.Size);

    public void Save(RunFolder folder) => folder.SaveCheckpoint(Model, Optimizer, State());

    /// <summary>Restores model, optimizer, data position and the reweighter's memory from a run folder's checkpoint, and
    /// checks each file against trainer.json's SHA-256. Only reads: under data parallelism every rank restores itself.</summary>
    public void Restore(RunFolder folder, TrainerState state)
    {
        // The session was built from config.json already; this only proves it is the file the checkpoint committed.
        folder.LoadConfig(state);
        if (Reweighter is IStatefulReweighter stateful)
            stateful.LoadState(state.ReweighterState
                ?? throw new InvalidDataException($"{folder.File(RunFolder.TrainerFile)} lacks the {OptionNames.Of(Options.Reweight)} state it needs to resume."));
        else if (state.ReweighterState != null)
            throw new InvalidDataException($"{folder.File(RunFolder.TrainerFile)} holds reweighter state, but {OptionNames.Of(Options.Reweight)} keeps none.");
        // Checked here rather than by the loader, whose message would not name the file: the data may have changed.
        if (state.Loader.Position > Train.Count)
            throw new InvalidDataException($"{folder.File(RunFolder.TrainerFile)}: Loader.Position {state.Loader.Position} is past the {Train.Count} training sequences; has the data changed since the run was saved?");
        folder.LoadModel(Model, state);
        folder.LoadOptimizer(Optimizer, state);
        Loader.State = state.Loader;
    }

    /// <summary>Validation over the global batch size, so that a data-parallel run's rank 0 scores the same sequences a
    /// single process with that batch would.</summary>
    public Evaluation Evaluate() => Evaluator.Evaluate(Model, Validation, Options.BatchSize * World.Size, Options.EvalBatches);

    private static (IReadOnlyList<Sample> Train, IReadOnlyList<Sample> Validation) LoadData(TrainOptions options, ITokenizer tokenizer)
    {
        if (options.Instruct != null)
        {
            var set = InstructionData.Load(options.Instruct, tokenizer, options.SeqLen, options.ValFraction, options.Padding, options.Template, options.EncodingErrors);
            return (set.Train, set.Validation);
        }
        var documents = options.Corpus != null ? TextCorpus.LoadDocuments(options.Corpus, options.EncodingErrors) : [TextCorpus.MobyDick()];
        return LanguageModelingData.Build(documents, tokenizer, options.SeqLen, options.ValFraction);
    }

    public void Dispose() => Model.Dispose();
}
