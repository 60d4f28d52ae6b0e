using System.CommandLine;
using System.Globalization;
using HardFocus.Models;
using HardFocus.Training.Data;
using HardFocus.Training.Distributed;
using HardFocus.Training.Text;
using Spectre.Console;

namespace HardFocus.Training.Cli;

public static class TrainCommand
{
    private static readonly TrainOptions Defaults = new();

    private static Option<T> Opt<T>(string name, string description, T defaultValue) =>
        new(name) { Description = WithRange(name, description), DefaultValueFactory = _ => defaultValue };

    /// <summary>The description with the option's range from <see cref="TrainOptions.Bounds"/>, where it has one, so --help
    /// states the range that <see cref="TrainOptions.Validate"/> checks.</summary>
    private static string WithRange(string name, string description) =>
        TrainOptions.Bounds.All.FirstOrDefault(b => b.Option == name) is { } bound ? bound.Describe(description) : description;

    /// <summary>An option with a fixed set of values: read as text, shown in help as a|b|c, parsed once by <see cref="Pick"/>.</summary>
    private static Option<string> Choice<T>(string name, string description, T defaultValue) where T : struct, Enum =>
        new(name) { Description = description, HelpName = string.Join('|', OptionNames.Names<T>()), DefaultValueFactory = _ => OptionNames.Of(defaultValue) };

    private static T Pick<T>(ParseResult parse, Option<string> option) where T : struct, Enum =>
        OptionNames.Parse<T>(parse.GetValue(option)!, option.Name);

    public static Command Create()
    {
        var corpus = new Option<string?>("--corpus") { Description = "Text to train on: a .txt file, a folder of .txt files, or .jsonl with a \"text\" field. Default: the embedded Moby-Dick." };
        var instruct = new Option<string?>("--instruct") { Description = "Instruction data (.jsonl with instruction, optional input, output); the loss covers only the response." };
        var encodingErrors = Choice("--encoding-errors", "What reading --corpus or --instruct does with bytes that are not UTF-8: strict refuses the file, naming the byte; replace reads them as U+FFFD.", Defaults.EncodingErrors);
        var model = Opt("--model", "Model preset (tiny, small, gpt2, llama-tiny, llama-small, smollm-135m) or a config.json path (model_type gpt2, llama, qwen2 or mistral).", Defaults.Model);
        var init = new Option<string?>("--init") { Description = "Start from these weights: a run folder, a .safetensors file, or a Hugging Face checkpoint folder (model.safetensors or shards with model.safetensors.index.json)." };
        var tokenizer = new Option<string?>("--tokenizer")
        {
            Description = "gpt2 (BPE, 50257 tokens), bytes (UTF-8 bytes, 256 tokens), or a checkpoint folder with vocab.json + merges.txt (byte-level BPE) " +
                          $"or tokenizer.model (SentencePiece). Default: the --init folder's tokenizer when it has one, else {Defaults.Tokenizer}.",
        };
        var template = Choice("--template", "Prompt format for --instruct: alpaca (the reference's wording) or compact (\"Q: ...\\nA: \", fits short contexts).", Defaults.Template);
        var reweight = Choice("--reweight", "Per-sample weighting: erm (uniform), midrank (keep one block of the loss ranking), irdro (softmax(loss / lambda)), " +
            "cvar (mean loss of the hardest alpha share), trimmed-irdro (irdro after dropping the top trim share), " +
            "midloss (favours middling losses, Sow et al. 2025), running-irdro (irdro with lambda in units of a running loss spread).", Defaults.Reweight);
        var lambda = Opt("--lambda", "Softmax temperature of irdro, trimmed-irdro and midloss (running-irdro: in loss spreads): large is close to ERM, small focuses harder.", Defaults.Lambda);
        var frac = Opt("--frac", "MidRanking block size as a fraction of the pool (cap = max(1, floor(frac * pool))).", Defaults.Frac);
        var portion = Opt("--portion", "MidRanking block index by descending loss: 0 = hardest, 1 = the next block (drops the very hardest).", Defaults.Portion);
        var alpha = Opt("--alpha", "CVaR tail fraction in (0, 1]: the weight goes to the hardest alpha share of the pool.", Defaults.Alpha);
        var trim = Opt("--trim", "Trimmed IR-DRO: the share of the highest losses dropped before the softmax, in [0, 1).", Defaults.Trim);
        var patience = Opt("--patience", "Micro-batches pooled per optimizer step; weights are computed over the whole pool.", Defaults.Patience);
        var poolMode = Choice("--pool-mode", "graphs: keep the pool's graphs (more memory, one forward); rescore: score without gradients, then rerun each micro-batch (one graph, two forwards).", Defaults.PoolMode);
        var steps = new Option<int?>("--steps") { Description = WithRange("--steps", $"Optimizer steps in total (default {Defaults.Steps}; with --resume, the new total).") };
        var batch = Opt("--batch-size", "Sequences per micro-batch.", Defaults.BatchSize);
        var seqLen = new Option<int?>("--seq-len") { Description = WithRange("--seq-len", $"Tokens per sequence (default: the model's context, at most {Defaults.SeqLen}).") };
        var lr = Opt("--lr", "Peak learning rate.", Defaults.LearningRate);
        var schedule = Choice("--schedule", "constant (the paper's setting) or cosine (decays to 10% after --warmup).", Defaults.Schedule);
        var warmup = Opt("--warmup", "Linear warmup steps.", Defaults.WarmupSteps);
        var optimizer = Choice("--optimizer", "adamw (PyTorch defaults) or sgd (momentum 0.9).", Defaults.Optimizer);
        var weightDecay = Opt("--weight-decay", "Decoupled weight decay on matrices and embeddings.", Defaults.WeightDecay);
        var clip = Opt("--clip-norm", "Clip the global gradient norm to this value (0 = off).", Defaults.ClipNorm);
        var dropout = Opt("--dropout", "Dropout probability while training (0 = off, GPT-2 used 0.1).", Defaults.Dropout);
        var device = Opt("--device", $"Where to run: {string.Join(", ", Devices.Names)}. Data-parallel ranks each take the GPU of their rank on the machine.", "auto");
        var tf32 = Devices.Tf32Option();
        var distributed = Choice("--distributed", "auto: train data-parallel over the ranks when started by mpiexec (MPICH family), else alone; " +
            "on: refuse to run without mpiexec; off: train alone even under mpiexec. --batch-size is per rank.", DistributedMode.Auto);
        var seed = Opt("--seed", "Seed for initialisation, shuffling and dropout.", Defaults.Seed);
        var output = new Option<string?>("--out") { Description = "Run folder to create: missing or empty (default runs/<time>-<reweight>)." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Empty the --out folder first when it holds a run, or what a failed run left behind." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder exactly where its checkpoint left off." };
        var evalEvery = Opt("--eval-every", "Evaluate on the validation split every N steps (0 = only before and after).", Defaults.EvalEvery);
        var saveEvery = Opt("--save-every", "Write a checkpoint every N steps (0 = only at the end).", Defaults.SaveEvery);
        var maxBadSteps = new Option<int?>("--max-bad-steps")
        {
            Description = WithRange("--max-bad-steps", $"Skip up to N steps in a row whose loss or gradient norm is not finite (no update; logged in metrics.jsonl) before stopping " +
                $"(default {Defaults.MaxBadSteps}; with --resume, overrides the run's). Above 0 it reads the gradient norm every step."),
        };
        var evalBatches = Opt("--eval-batches", "Validation batches per evaluation.", Defaults.EvalBatches);
        var valFraction = Opt("--val-fraction", "Share of the data held out for validation.", Defaults.ValFraction);
        var padding = Choice("--padding", "Where instruction examples are padded: left (the reference) or right.", Defaults.Padding);

        var command = new Command("train", "Train a GPT decoder with per-sample losses and hard-sample reweighting.")
        {
            corpus, instruct, encodingErrors, template, model, init, tokenizer, reweight, lambda, frac, portion, alpha, trim, patience, poolMode, steps,
            batch, seqLen, lr, schedule, warmup, optimizer, weightDecay, clip, dropout, device, tf32, distributed, seed, output, overwrite, resume, evalEvery,
            saveEvery, maxBadSteps, evalBatches, valFraction, padding,
        };
        command.SetAction(parse =>
        {
            var options = new TrainOptions
            {
                Corpus = parse.GetValue(corpus), Instruct = parse.GetValue(instruct), Template = Pick<PromptTemplate>(parse, template),
                EncodingErrors = Pick<EncodingErrors>(parse, encodingErrors),
                Model = parse.GetValue(model)!, Tokenizer = TokenizerFactory.Recorded(parse.GetValue(tokenizer) ?? DefaultTokenizer(parse.GetValue(init))), Reweight = Pick<ReweightMethod>(parse, reweight),
                Lambda = parse.GetValue(lambda), Frac = parse.GetValue(frac), Portion = parse.GetValue(portion), Alpha = parse.GetValue(alpha),
                Trim = parse.GetValue(trim), Patience = parse.GetValue(patience), PoolMode = Pick<PoolMode>(parse, poolMode),
                Steps = parse.GetValue(steps) ?? Defaults.Steps, BatchSize = parse.GetValue(batch),
                SeqLen = parse.GetValue(seqLen) ?? DefaultSequenceLength(parse.GetValue(model)!), LearningRate = parse.GetValue(lr),
                Schedule = Pick<LrSchedule>(parse, schedule), WarmupSteps = parse.GetValue(warmup), Optimizer = Pick<OptimizerKind>(parse, optimizer),
                WeightDecay = parse.GetValue(weightDecay), ClipNorm = parse.GetValue(clip), Dropout = parse.GetValue(dropout), Seed = parse.GetValue(seed),
                EvalEvery = parse.GetValue(evalEvery), SaveEvery = parse.GetValue(saveEvery), MaxBadSteps = parse.GetValue(maxBadSteps) ?? Defaults.MaxBadSteps,
                EvalBatches = parse.GetValue(evalBatches),
                ValFraction = parse.GetValue(valFraction), Padding = Pick<PaddingSide>(parse, padding),
            };
            return MpiLaunch.Run(Pick<DistributedMode>(parse, distributed), world =>
            {
                var run = new TrainRun(Devices.Resolve(parse.GetValue(device)!, world.LocalRank, parse.GetValue(tf32)), parse.GetValue(output), parse.GetValue(resume),
                    parse.GetValue(init), parse.GetValue(steps), parse.GetValue(overwrite), parse.GetValue(maxBadSteps), world);
                // Rank 0 speaks for the job; the others would only repeat it.
                bool speaks = world.Rank == 0;
                using var ctrlC = new CtrlC(speaks ? "stopping after this step to save a checkpoint" : null);
                return run.Execute(options, speaks ? new ConsoleReporter() : new SilentReporter(), ctrlC.Token);
            });
        });
        return command;
    }

    /// <summary>A checkpoint folder given to --init brings its own tokenizer: training it on another would be meaningless.</summary>
    private static string DefaultTokenizer(string? init) =>
        init != null && PretrainedTokenizer.IsTokenizerFolder(init) ? init : Defaults.Tokenizer;

    /// <summary>The model's context, capped at the default, so `--model tiny` works without also giving --seq-len.</summary>
    private static int DefaultSequenceLength(string model) =>
        Math.Min(Defaults.SeqLen, DecoderConfigs.Resolve(model, vocab: 1).ContextLength);

    private sealed class SilentReporter : ITrainReporter
    {
        public void Line(string text) { }
        public void RunSteps(int from, int total, Action<Action<StepResult>> body) => body(_ => { });
    }

    /// <summary>A live progress bar on a terminal; plain periodic lines when output goes to a file or pipe.</summary>
    private sealed class ConsoleReporter : ITrainReporter
    {
        private ProgressTask? _task;
        private int _total, _lastPrinted;
        private readonly bool _interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

        public void Line(string text)
        {
            if (_interactive) AnsiConsole.MarkupLine(Markup.Escape(text));
            else Console.WriteLine(text);
        }

        public void RunSteps(int from, int total, Action<Action<StepResult>> body)
        {
            _total = total;
            if (!_interactive)
            {
                body(Plain);
                return;
            }
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    _task = ctx.AddTask("training", maxValue: total);
                    _task.Value = from;
                    body(Interactive);
                });
        }

        private void Interactive(StepResult r)
        {
            _task!.Value = r.Step;
            _task.Description = string.Create(CultureInfo.InvariantCulture, $"step {r.Step}/{_total} loss {r.Objective:F4} {r.TokensPerSecond:F0} tok/s");
        }

        private void Plain(StepResult r)
        {
            int every = Math.Max(1, _total / 20);
            if (r.Step % every != 0 && r.Step != _total && r.Step - _lastPrinted < every) return;
            _lastPrinted = r.Step;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {r.Step}/{_total}  loss {r.Objective:F4}  mean_loss {r.MeanLoss:F4}  lr {r.LearningRate:G3}  {r.TokensPerSecond:F0} tok/s"));
        }
    }
}
