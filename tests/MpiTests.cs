using System.Diagnostics;
using System.Text.Json;
using HardFocus.Engine;
using HardFocus.Engine.IO;
using HardFocus.Training.Distributed;

namespace HardFocus.Tests;

/// <summary>
/// Data-parallel training under a real MPI launcher (MPICH's mpiexec, which .ci/run installs): N ranks with batch B
/// must take the steps of one process with batch N x B, resume exactly, and end together when one rank fails.
/// </summary>
public class MpiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hardfocus-mpi-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string In(string name) => Path.Combine(_dir, name);

    private static readonly string Hardfocus = Path.Combine(AppContext.BaseDirectory, "hardfocus.dll");
    private static readonly string FaultProgram = Path.Combine(AppContext.BaseDirectory, "HardFocus.Tests.dll");

    private static string[] Tiny(string lr = "0.003", string saveEvery = "0") =>
        ["train", "--model", "tiny", "--tokenizer", "bytes", "--seq-len", "32", "--steps", "5", "--warmup", "0", "--lr", lr,
         "--eval-batches", "1", "--save-every", saveEvery, "--device", "cpu"];

    [Theory]
    [InlineData("erm", 1, "graphs")]
    [InlineData("midrank", 2, "graphs")]
    [InlineData("irdro", 1, "graphs")]
    [InlineData("irdro", 3, "rescore")]
    public void TwoRanks_TakeTheStepsOfOneProcessWithTwiceTheBatch(string reweight, int patience, string poolMode)
    {
        string[] method = ["--reweight", reweight, "--lambda", "0.3", "--patience", patience.ToString(), "--pool-mode", poolMode];
        var ranks = Mpiexec(2, [Hardfocus, .. Tiny(), .. method, "--batch-size", "2", "--out", In("ranks")]);
        Assert.True(ranks.Code == 0, ranks.Err);
        var single = CliTests.Run([.. Tiny(), .. method, "--batch-size", "4", "--out", In("single")]);
        Assert.True(single.Code == 0, single.Err);

        var distributedRows = Samples(In("ranks"));
        var singleRows = Samples(In("single"));
        Assert.Equal(5, distributedRows.Count);
        Assert.Equal(5, singleRows.Count);
        for (int s = 0; s < singleRows.Count; s++)
        {
            Assert.Equal(4 * patience, distributedRows[s].Losses.Length);
            AssertClose(singleRows[s].Losses, distributedRows[s].Losses, 1e-5, $"losses of step {s + 1}");
            AssertClose(singleRows[s].Weights, distributedRows[s].Weights, 1e-5, $"weights of step {s + 1}");
        }

        // Relative to the model's largest weight, not each tensor's: the key projection's bias has no gradient at all
        // (softmax ignores a shift shared by every key), so its few-1e-5 values are rounding noise that AdamW's
        // normalisation turns into full-size steps, in either run.
        var expected = Safetensors.Read(Path.Combine(In("single"), "model.safetensors")).Entries.ToDictionary(e => e.Name);
        double scale = expected.Values.Max(e => e.Data.Max(MathF.Abs));
        foreach (var tensor in Safetensors.Read(Path.Combine(In("ranks"), "model.safetensors")).Entries)
        {
            double error = expected[tensor.Name].Data.Zip(tensor.Data, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(error <= 1e-4 * scale, $"{tensor.Name}: max difference {error:G3} against the model's largest weight {scale:G3}");
        }
    }

    [Fact]
    public void ARankThatFails_EndsTheJobAtOnce_AndTheCheckpointResumesExactly()
    {
        string failed = In("failed"), whole = In("whole");
        var clock = Stopwatch.StartNew();
        var crash = Mpiexec(2, [FaultProgram, failed, "1", "3"]);
        Assert.NotEqual(0, crash.Code);
        // The other rank is blocked in the next step's collective: only MPI_Abort gets it out, and quickly.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the job took {clock.Elapsed} to end");
        Assert.True(Lines(crash.Err).Count(line => line.StartsWith("error:", StringComparison.Ordinal)) == 1, crash.Err);
        Assert.Contains("error: rank 1 of 2: simulated failure after step 3", crash.Err);
        // Saved every 2 steps: the checkpoint of step 2 is what the folder holds.
        Assert.Equal(2, JsonDocument.Parse(File.ReadAllText(Path.Combine(failed, "trainer.json"))).RootElement.GetProperty("Step").GetInt32());

        var resumed = Mpiexec(2, [Hardfocus, "train", "--resume", failed]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains("resumed", resumed.Out);
        var uninterrupted = Mpiexec(2, [FaultProgram, whole, "-1", "-1"]);
        Assert.True(uninterrupted.Code == 0, uninterrupted.Err);

        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "model.safetensors")), File.ReadAllBytes(Path.Combine(failed, "model.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "optimizer.safetensors")), File.ReadAllBytes(Path.Combine(failed, "optimizer.safetensors")));
        Assert.Equal(Samples(whole).Select(r => r.Losses), Samples(failed).Select(r => r.Losses));
    }

    [Fact]
    public void ResumingUnderAnotherNumberOfRanks_IsRefused()
    {
        var run = Mpiexec(2, [Hardfocus, .. Tiny(), "--batch-size", "2", "--out", In("run")]);
        Assert.True(run.Code == 0, run.Err);
        string before = File.ReadAllText(Path.Combine(In("run"), "trainer.json"));

        var alone = CliTests.Run("train", "--resume", In("run"), "--steps", "8");
        Assert.Equal(2, alone.Code);
        Assert.Contains("was trained on 2 processes and this is one process; resume it with mpiexec -n 2", alone.Err);
        Assert.Equal(before, File.ReadAllText(Path.Combine(In("run"), "trainer.json")));
    }

    [Fact]
    public void RanksGivenDifferentOptions_StopBeforeTheFirstStep_WithOneLine()
    {
        string[] common = [.. Tiny(), "--batch-size", "2", "--out", In("run")];
        var result = Mpiexec(2, [Hardfocus, .. common, "--seed", "1"], [Hardfocus, .. common, "--seed", "2"]);
        Assert.Equal(2, result.Code);
        Assert.Equal(["error: rank 1 was started with other options or at another step than rank 0: every rank must be given the same command line."],
            Lines(result.Err).Where(line => line.StartsWith("error:", StringComparison.Ordinal)));
        Assert.False(Directory.Exists(In("run")), "a run that never started must leave no folder behind");
    }

    [Fact]
    public void DivergenceIsSeenByEveryRank_AndSaidOnce()
    {
        // A rate of 1e30 leaves finite but enormous weights after step 1; the global loss of step 2 is not finite.
        var result = Mpiexec(2, [Hardfocus, .. Tiny(lr: "1e30", saveEvery: "1"), "--batch-size", "2", "--out", In("run")]);
        Assert.Equal(2, result.Code);
        var errors = Lines(result.Err).Where(line => line.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Equal($"error: Training diverged at step 2: the loss is NaN; the checkpoint at step 1 in {In("run")} is intact.", Assert.Single(errors));
        Assert.Equal(1, JsonDocument.Parse(File.ReadAllText(Path.Combine(In("run"), "trainer.json"))).RootElement.GetProperty("Step").GetInt32());
    }

    [Fact]
    public void MpiCheck_SumsAKnownPatternAcrossBuckets()
    {
        var check = Mpiexec(2, [Hardfocus, "mpi-check", "--bucket", "64", "--megabytes", "1"]);
        Assert.True(check.Code == 0, check.Err);
        Assert.Contains($"2 ranks on 1 machine(s); {Math.Max(1, Environment.ProcessorCount / 2)} CPU threads per rank", check.Out);
        Assert.Contains("gradient sum: ok (1, 63, 64, 65, 197 floats in buckets of 64); loss gather: ok", check.Out);
        Assert.Contains("gradient sum of 1 MiB:", check.Out);
    }

    [Fact]
    public void WithoutALauncher_OnIsRefused_AndOpenMpiIsNamed()
    {
        var on = CliTests.Run("train", "--distributed", "on", "--model", "tiny");
        Assert.Equal(2, on.Code);
        Assert.Equal("error: --distributed on: no MPI launcher started this process; run it as mpiexec -n N hardfocus train ...", on.Err.Trim());

        var openMpi = Run("dotnet", [Hardfocus, "train", "--model", "tiny"], ("OMPI_COMM_WORLD_SIZE", "2"));
        Assert.Equal(2, openMpi.Code);
        Assert.StartsWith("error: Open MPI's mpirun started this process", openMpi.Err.Trim());
    }

    [Fact]
    public void WithoutALauncher_AutoRunsInThisProcess_AndNeverLoadsMpi()
    {
        Assert.False(MpiLaunch.StartedByMpiLauncher, "the tests themselves must not run under mpiexec");
        ICommunicator? seen = null;
        Assert.Equal(7, MpiLaunch.Run(DistributedMode.Auto, world => { seen = world; return 7; }));
        Assert.Same(SingleProcess.Instance, seen);
        // No test in this process starts MPI, so MPI.NET's assembly must still be unloaded: a plain run never touches it.
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "MPI");
    }

    [Fact]
    public void GlobalPool_PutsEachRanksSamplesWhereASingleProcessHasThem()
    {
        // 2 ranks, 2 micro-batches of 3 per rank: a single process's micro-batches of 6 are [r0 r0 r0 r1 r1 r1].
        int[] global = [0, 1, 2, 3, 4, 5];
        Assert.Equal([0, 1, 2], GlobalPool.Share(global, rank: 0, ranks: 2));
        Assert.Equal([3, 4, 5], GlobalPool.Share(global, rank: 1, ranks: 2));
        Assert.Equal(10, GlobalPool.Position(micro: 1, index: 1, rank: 1, ranks: 2, batch: 3));

        // Gathered rank by rank: rank 0's (micro 0, micro 1), then rank 1's.
        float[] gathered = [0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11];
        Assert.Equal([0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], GlobalPool.InPoolOrder(gathered, ranks: 2, micros: 2, batch: 3));
        Assert.Throws<ArgumentException>(() => GlobalPool.Share(new int[5], rank: 0, ranks: 2));
    }

    [Fact]
    public void GradientSync_SumsEveryGradientInBuckets_AndWritesTheSumBack()
    {
        // Gradients 2w: [2, 4, 6, 8, 10, 12, 14] over a 3-vector and a 2x2 matrix; the other rank adds 100 to each.
        var vector = Tensor.Parameter([1f, 2f, 3f], new Shape(3));
        var matrix = Tensor.Parameter([4f, 5f, 6f, 7f], new Shape(2, 2));
        (Ops.Sum(vector * vector) + Ops.Sum(matrix * matrix)).Backward();
        var world = new OneOtherRank(addend: 100f);

        new GradientSync([vector, matrix], world, bucketFloats: 3).SumAcrossRanks();

        Assert.Equal([3, 3, 1], world.Buckets);
        Assert.Equal([102f, 104f, 106f], vector.Grad!.ToArray());
        Assert.Equal([108f, 110f, 112f, 114f], matrix.Grad!.ToArray());
    }

    private sealed record SampleRow(float[] Losses, double[] Weights);

    private static List<SampleRow> Samples(string runFolder) =>
        File.ReadLines(Path.Combine(runFolder, "samples.jsonl")).Select(line =>
        {
            var row = JsonDocument.Parse(line).RootElement;
            return new SampleRow(row.GetProperty("losses").EnumerateArray().Select(v => v.GetSingle()).ToArray(),
                row.GetProperty("weights").EnumerateArray().Select(v => v.GetDouble()).ToArray());
        }).ToList();

    private static void AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, double tolerance, string what) =>
        AssertClose(expected.Select(v => (double)v).ToList(), actual.Select(v => (double)v).ToList(), tolerance, what);

    private static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        double error = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(error <= tolerance, $"{what}: max difference {error:G3} > {tolerance}");
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Runs `mpiexec -n N dotnet ARGS`, or one program per rank (MPMD) when given several argument lists.</summary>
    private static (int Code, string Out, string Err) Mpiexec(int ranks, params string[][] programs)
    {
        var args = new List<string>();
        foreach (var program in programs)
        {
            if (args.Count > 0) args.Add(":");
            args.AddRange(["-n", (programs.Length == 1 ? ranks : 1).ToString(), "dotnet", .. program]);
        }
        return Run(Launcher, args);
    }

    /// <summary>MPICH's launcher: Debian installs it as mpiexec.mpich, which stays MPICH's even when Open MPI is also there.</summary>
    private static string Launcher =>
        new[] { "mpiexec.mpich", "mpiexec.hydra" }.FirstOrDefault(name => (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Any(dir => File.Exists(Path.Combine(dir, name))))
        ?? throw new InvalidOperationException("MPICH's mpiexec.mpich is not installed: .ci/run installs it (apt-get install mpich libmpich-dev).");

    private static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(180_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}
