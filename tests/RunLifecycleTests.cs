using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Engine.IO;
using HardFocus.Training;
using HardFocus.Training.Cli;
using HardFocus.Training.Experiment;

namespace HardFocus.Tests;

/// <summary>
/// What happens to a run folder around a run rather than inside its steps: one writer at a time, Ctrl-C, steps that
/// are not finite, and runs that fail before their first checkpoint. Most of it is about processes, so most tests run
/// the command as one.
/// </summary>
public sealed class RunLifecycleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-lifecycle-").FullName;
    private readonly string _corpus, _run;
    private readonly string[] _tiny;

    public RunLifecycleTests()
    {
        _corpus = Path.Combine(_dir, "corpus.txt");
        File.WriteAllText(_corpus, string.Concat(Enumerable.Repeat("Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about a little. ", 12)));
        _run = Path.Combine(_dir, "run");
        _tiny = ["--model", "tiny", "--corpus", _corpus, "--batch-size", "2", "--seq-len", "16", "--eval-batches", "1"];
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A hardfocus process the test watches and signals while it runs; killed if the test leaves it running.</summary>
    private sealed class Running : IDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _out;
        private readonly StringWriter _err = new();

        public Running(params string[] args)
        {
            // A process started from a background job of a script inherits SIGINT ignored; `env` restores the default
            // action, so the signal reaches the command as a Ctrl-C at a terminal would.
            var start = new ProcessStartInfo(OperatingSystem.IsLinux() ? "env" : "dotnet")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            if (OperatingSystem.IsLinux()) { start.ArgumentList.Add("--default-signal=INT"); start.ArgumentList.Add("dotnet"); }
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "hardfocus.dll"));
            foreach (var a in args) start.ArgumentList.Add(a);
            _process = Process.Start(start)!;
            _out = _process.StandardOutput.ReadToEndAsync();
            _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_err) _err.WriteLine(e.Data); };
            _process.BeginErrorReadLine();
        }

        public string Err { get { lock (_err) return _err.ToString(); } }

        public void Signal(string name) => Process.Start("kill", [$"-{name}", _process.Id.ToString()])!.WaitForExit();

        public (int Code, string Out, string Err) Wait()
        {
            Assert.True(_process.WaitForExit(120_000), "hardfocus did not finish in 2 minutes");
            _process.WaitForExit(); // drains the error stream
            return (_process.ExitCode, _out.Result, Err);
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(30_000);
            _process.Dispose();
        }
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"waited 2 minutes for {what}");
            Thread.Sleep(20);
        }
    }

    private static int LineCount(string path) => File.Exists(path) ? File.ReadAllLines(path).Length : 0;

    private static JsonElement[] Rows(string path) => File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();

    private static int[] TrainingSteps(string run) =>
        Rows(Path.Combine(run, RunFolder.MetricsFile)).Where(r => r.TryGetProperty("loss", out _)).Select(r => r.GetProperty("step").GetInt32()).ToArray();

    private static void AssertOneErrorLine(string err, params string[] mentions)
    {
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        foreach (var m in mentions) Assert.Contains(m, line);
    }

    private string[] Visible(string folder) =>
        Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Where(n => n != RunLock.FileName).Order().ToArray()!;

    [Fact]
    public void SecondWriter_IsRefusedWhileTheFirstRuns_AndTheLockDiesWithItsProcess()
    {
        string metrics = Path.Combine(_run, RunFolder.MetricsFile);
        using (var first = new Running(["train", .. _tiny, "--steps", "1000000", "--save-every", "5", "--out", _run]))
        {
            WaitUntil(() => new RunFolder(_run).HasCheckpoint && LineCount(metrics) > 6, "the first run's checkpoint");

            var (code, _, err) = CliTests.Run(["train", .. _tiny, "--steps", "3", "--out", _run]);
            Assert.Equal(2, code);
            AssertOneErrorLine(err, _run, "in use by another hardfocus process");
            (code, _, err) = CliTests.Run("train", "--resume", _run, "--steps", "2000000");
            Assert.Equal(2, code);
            AssertOneErrorLine(err, _run, "in use by another hardfocus process");
            Assert.True(LineCount(metrics) > 6); // and the first is still writing
        } // killed: its .lock file stays behind, its lock does not

        Assert.True(File.Exists(Path.Combine(_run, RunLock.FileName)));
        int saved = new RunFolder(_run).LoadTrainerState().Step;
        var (resumeCode, output, resumeErr) = CliTests.Run("train", "--resume", _run, "--steps", (saved + 1).ToString());
        Assert.True(resumeCode == 0, resumeErr);
        Assert.Contains($"resumed {_run} at step {saved}", output);
        Assert.Equal(Enumerable.Range(1, saved + 1), TrainingSteps(_run));
    }

    [Fact]
    public void TwoTrainingsStartedAtOnce_OneRunsAndTheOtherGetsOneLine()
    {
        string[] args = ["train", .. _tiny, "--steps", "20", "--save-every", "2", "--out", _run];
        using var a = new Running(args);
        using var b = new Running([.. args, "--seed", "2"]);
        var results = new[] { a.Wait(), b.Wait() };
        Assert.Equal([0, 2], results.Select(r => r.Code).Order());
        // Refused while the other held the lock, or after it had finished: either way, one line naming the folder.
        AssertOneErrorLine(results.Single(r => r.Code == 2).Err, _run);
        Assert.Equal(Enumerable.Range(1, 20), TrainingSteps(_run)); // every row parses, each step once
    }

    [Fact]
    public void CtrlC_FinishesTheStep_SavesIt_AndTheRunResumesFromThere()
    {
        string metrics = Path.Combine(_run, RunFolder.MetricsFile);
        int step;
        using (var training = new Running(["train", .. _tiny, "--steps", "1000000", "--save-every", "100000", "--out", _run]))
        {
            WaitUntil(() => LineCount(metrics) >= 4, "the first steps");
            training.Signal("INT");
            var (code, output, err) = training.Wait();
            Assert.Equal(TrainRun.InterruptedExitCode, code);
            Assert.Contains("interrupt: stopping after this step", err);
            var told = Regex.Match(output, @"interrupted: checkpoint at step (\d+)/1000000 in (.+); continue with: hardfocus train --resume (.+)\n");
            Assert.True(told.Success, output);
            step = int.Parse(told.Groups[1].Value);
            Assert.Equal(_run, told.Groups[2].Value);
            Assert.Equal(_run, told.Groups[3].Value);
        }
        Assert.Equal(step, new RunFolder(_run).LoadTrainerState().Step);
        Assert.Equal(step, TrainingSteps(_run)[^1]);

        var (resumeCode, resumed, resumeErr) = CliTests.Run("train", "--resume", _run, "--steps", (step + 2).ToString());
        Assert.True(resumeCode == 0, resumeErr);
        Assert.Contains($"resumed {_run} at step {step}", resumed);
        Assert.Equal(Enumerable.Range(1, step + 2), TrainingSteps(_run));
    }

    [Fact]
    public void SecondCtrlC_QuitsAtOnce_AndLeavesTheLastCheckpoint()
    {
        // Steps of a second or so, so the second Ctrl-C lands while the first is still waiting for its step to end.
        string[] slow = ["--model", "small", "--batch-size", "16", "--seq-len", "128", "--patience", "4", "--eval-batches", "1"];
        using (var training = new Running(["train", .. slow, "--steps", "1000", "--save-every", "1", "--out", _run]))
        {
            WaitUntil(() => new RunFolder(_run).HasCheckpoint, "the first checkpoint");
            training.Signal("INT");
            WaitUntil(() => training.Err.Contains("interrupt:"), "the first Ctrl-C to be taken");
            training.Signal("INT");
            var (code, output, _) = training.Wait();
            Assert.Equal(TrainRun.InterruptedExitCode, code);
            Assert.DoesNotContain("interrupted:", output); // it did not wait to finish the step and save
        }
        var state = new RunFolder(_run).LoadTrainerState();
        var (resumeCode, _, resumeErr) = CliTests.Run("train", "--resume", _run, "--steps", (state.Step + 1).ToString());
        Assert.True(resumeCode == 0, resumeErr);
    }

    /// <summary>Cancels at a chosen arm and step, as a Ctrl-C would, and records where each arm began.</summary>
    private sealed class StopAt(Func<string, int, bool> when) : IExperimentProgress, IArmProgress
    {
        public CancellationTokenSource Stop { get; } = new();
        public List<(string Arm, int From)> Began { get; } = [];
        private string _arm = "";

        public void Run(Action<IArmProgress> body) => body(this);
        public void Begin(string arm, int fromStep, int totalSteps)
        {
            Began.Add((_arm = arm, fromStep));
            if (when(arm, fromStep)) Stop.Cancel();
        }
        public void Step(int step, (TimeSpan Elapsed, TimeSpan? Left) time) { if (when(_arm, step)) Stop.Cancel(); }
        public void Finished(string summary) { }
    }

    [Fact]
    public void CtrlC_InAnExperiment_SavesTheArmsStep_AndTheNextInvocationResumesIt()
    {
        string root = Path.Combine(_dir, "experiment"), baseArm = Path.Combine(root, "continual", "seed-1", "base");
        var first = new StopAt((arm, step) => arm.StartsWith("[1/", StringComparison.Ordinal) && step == 3);
        Assert.Equal(TrainRun.InterruptedExitCode, ExperimentCommand.Run("smoke", 1, "cpu", 1.0, null, null, root, first, first.Stop.Token));
        Assert.Single(first.Began);
        Assert.Equal(3, new RunFolder(baseArm).LoadTrainerState().Step);
        Assert.False(File.Exists(Path.Combine(baseArm, ExperimentRunner.EvalFile)));

        // Stopped again as soon as the second arm begins: the first must have resumed at 3, finished and been evaluated.
        var second = new StopAt((arm, _) => arm.StartsWith("[2/", StringComparison.Ordinal));
        Assert.Equal(TrainRun.InterruptedExitCode, ExperimentCommand.Run("smoke", 1, "cpu", 1.0, null, null, root, second, second.Stop.Token));
        Assert.Equal(3, second.Began[0].From);
        Assert.True(File.Exists(Path.Combine(baseArm, ExperimentRunner.EvalFile)));
        Assert.Equal(Enumerable.Range(1, 20), TrainingSteps(baseArm));
    }

    [Fact]
    public void TooManyNonFiniteSteps_AreSkippedAndLogged_ThenTheRunStops_WithTheLastCheckpointIntact()
    {
        // A rate of 1e30 leaves finite but enormous weights after step 1; every step after that is NaN.
        var (code, _, err) = CliTests.Run(["train", .. _tiny, "--lr", "1e30", "--warmup", "0", "--steps", "10", "--save-every", "1", "--max-bad-steps", "3", "--out", _run]);
        Assert.Equal(2, code);
        AssertOneErrorLine(err, "Training diverged at step 2: 4 steps in a row were not finite (--max-bad-steps 3)", $"the checkpoint at step 1 in {_run} is intact");

        var skipped = Rows(Path.Combine(_run, RunFolder.MetricsFile)).Where(r => r.TryGetProperty("skipped", out _)).ToArray();
        Assert.Equal([1, 2, 3, 4], skipped.Select(r => r.GetProperty("skipped_in_a_row").GetInt32()));
        Assert.All(skipped, r => Assert.Equal(2, r.GetProperty("step").GetInt32()));
        Assert.Equal([1], RunLogReader.ReadMetrics(Path.Combine(_run, RunFolder.MetricsFile)).Steps.Select(s => s.Step));
        Assert.Equal(1, new RunFolder(_run).LoadTrainerState().Step);
        Assert.All(Safetensors.Read(Path.Combine(_run, RunFolder.ModelFile)).Entries, e => Assert.All(e.Data, v => Assert.True(float.IsFinite(v))));
    }

    [Theory]
    [InlineData(PoolMode.Graphs)]
    [InlineData(PoolMode.Rescore)]
    public void SkippedStep_ChangesNothingButTheDataPosition(PoolMode poolMode)
    {
        var options = new TrainOptions
        {
            Model = "tiny", Corpus = _corpus, BatchSize = 2, SeqLen = 16, Patience = 2, PoolMode = poolMode, Reweight = ReweightMethod.Irdro,
            LearningRate = 1e30f, WarmupSteps = 0, MaxBadSteps = 1, Steps = 10,
        };
        using var session = new TrainingSession(options, new CpuBackend());
        Assert.False(session.Trainer.Step().Skipped);
        var weights = session.Model.Parameters().SelectMany(p => p.ToArray()).ToArray();
        var moments = session.Optimizer.State().SelectMany(kv => kv.Value.ToArray()).ToArray();
        var position = session.Loader.State;

        var r = session.Trainer.Step();
        Assert.True(r.Skipped);
        Assert.Equal(2, r.Step);
        Assert.True(float.IsNaN(r.Objective));
        Assert.Equal(1, session.Trainer.StepsDone);
        Assert.Equal(weights, session.Model.Parameters().SelectMany(p => p.ToArray()).ToArray());
        Assert.Equal(moments, session.Optimizer.State().SelectMany(kv => kv.Value.ToArray()).ToArray());
        Assert.All(session.Model.Parameters(), p => Assert.True(p.Grad == null || p.Grad.ToArray().All(g => g == 0)));
        Assert.NotEqual(position, session.Loader.State);
    }

    [Fact]
    public void NewRunThatDiverges_RemovesTheFolderItCreated()
    {
        var (code, _, err) = CliTests.Run(["train", .. _tiny, "--lr", "1e30", "--warmup", "0", "--steps", "10", "--out", _run]);
        Assert.Equal(2, code);
        AssertOneErrorLine(err, "Training diverged at step 2: the loss is NaN; no checkpoint had been saved.");
        Assert.False(Directory.Exists(_run));
    }

    [Fact]
    public void NewRunThatFailsLate_InAFolderThatWasThere_LeavesItEmpty()
    {
        Directory.CreateDirectory(_run);
        // The context check runs once the data and model are built, after the run has claimed its folder.
        var (code, _, err) = CliTests.Run("train", "--model", "tiny", "--corpus", _corpus, "--seq-len", "65", "--out", _run);
        Assert.Equal(2, code);
        AssertOneErrorLine(err, "--seq-len 65");
        Assert.Empty(Visible(_run));

        (code, _, err) = CliTests.Run(["train", .. _tiny, "--steps", "1", "--out", _run]);
        Assert.True(code == 0, err);
    }

    [Fact]
    public void OutFolderWithWhatAFailedRunLeft_IsRefused_UnlessOverwrite_ThenPointsToResume()
    {
        Directory.CreateDirectory(_run);
        foreach (var name in new[] { RunFolder.ConfigFile, RunFolder.ModelFile, RunFolder.MetricsFile }) File.WriteAllText(Path.Combine(_run, name), "left behind");
        var (code, _, err) = CliTests.Run(["train", .. _tiny, "--steps", "2", "--out", _run]);
        Assert.Equal(2, code);
        AssertOneErrorLine(err, _run, "holds no complete run", "--overwrite");
        Assert.Equal(2, CliTests.Run("train", "--resume", _run).Code);
        Assert.Equal(3, Directory.GetFileSystemEntries(_run).Length); // untouched, not even locked
        Assert.Equal("left behind", File.ReadAllText(Path.Combine(_run, RunFolder.ModelFile)));

        (code, _, err) = CliTests.Run(["train", .. _tiny, "--steps", "2", "--out", _run, "--overwrite"]);
        Assert.True(code == 0, err);
        Assert.Equal(2, new RunFolder(_run).LoadTrainerState().Step);
        Assert.NotEqual("left behind", File.ReadAllText(Path.Combine(_run, RunFolder.MetricsFile)));

        (code, _, err) = CliTests.Run(["train", .. _tiny, "--steps", "2", "--out", _run]);
        Assert.Equal(2, code);
        AssertOneErrorLine(err, "already holds a run", $"--resume {_run}");
    }

    [Fact]
    public void Overwrite_RefusesAFolderThatIsNotARun()
    {
        Directory.CreateDirectory(Path.Combine(_run, "src"));
        File.WriteAllText(Path.Combine(_run, RunFolder.ConfigFile), "mine");
        var (code, _, err) = CliTests.Run(["train", .. _tiny, "--steps", "1", "--out", _run, "--overwrite"]);
        Assert.Equal(2, code);
        AssertOneErrorLine(err, "does not look like a run folder", "src");
        Assert.Equal([RunFolder.ConfigFile, "src"], Directory.GetFileSystemEntries(_run).Select(Path.GetFileName).Order());
    }
}
