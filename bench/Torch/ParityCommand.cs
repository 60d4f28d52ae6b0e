using HardFocus.Training.Reweighting;

namespace HardFocus.Bench.Torch;

/// <summary>
/// `parity [--model tiny|small|llama-tiny|llama-small]`: both sides start from the same Hugging Face file and see the same padded, masked
/// batch. Compares logits, per-sample losses, IR-DRO and MidRanking weights and every parameter gradient, then takes
/// AdamW steps on both sides and compares the losses they lead to. Exit 1 beyond the tolerances.
/// </summary>
internal static class ParityCommand
{
    public const string Name = "parity";

    // The parity tolerances: losses 1e-4 (element-wise relative), gradients 1e-3 (relative to the tensor's largest
    // gradient), losses after the AdamW steps 1e-3. Logits and weights are held to the loss tolerance.
    private const double LossTolerance = 1e-4, GradientTolerance = 1e-3, SteppedLossTolerance = 1e-3;
    private const double Lambda = 1.0, Fraction = 0.25;
    private const int Portion = 1, Steps = 3;
    private const float LearningRate = 1e-3f;

    public static int Run(IReadOnlyList<string> args)
    {
        var options = new Arguments(Name, args, ["--model"], []);
        string preset = options.Text("--model", "tiny");
        if (preset is not ("tiny" or "small" or "llama-tiny" or "llama-small"))
            throw new UsageException($"parity: --model must be tiny, small, llama-tiny or llama-small, got '{preset}'.");
        var config = SharedWeights.Preset(preset);
        (int batchSize, int seq) = preset.EndsWith("tiny", StringComparison.Ordinal) ? (6, 24) : (8, 64);

        using var folder = new TemporaryFolder();
        string weights = Path.Combine(folder.Path, "model.safetensors");
        SharedWeights.Write(config, seed: 8, weights);
        using var ours = new EngineSide(config, weights, LearningRate);
        using var theirs = new TorchSide(config, weights, LearningRate);
        var batch = SideBySideBatch.Padded(batchSize, seq, config.VocabSize, seed: 80);

        Console.WriteLine($"parity: {preset} ({SharedWeights.Describe(config)}), " +
            $"batch {batchSize} x {seq}, padded and masked, {TorchSharp.torch.get_num_threads()} threads each");
        var a = ours.ForwardBackward(batch, new IrDro(Lambda));
        ours.Model.ZeroGrad();
        var b = theirs.ForwardBackward(batch, Lambda, Fraction, Portion);
        var midRanking = new MidRanking(Fraction, Portion).Weights(a.Losses);

        bool pass = true;
        void Report(string what, double error, double tolerance)
        {
            bool ok = error <= tolerance;
            pass &= ok;
            Console.WriteLine($"{(ok ? "PASS" : "FAIL")}  {what,-44} max rel error {error:0.0e+0}  (tolerance {tolerance:0e+0})");
        }
        Report("logits", Agreement.RelativeToLargest(a.Logits, b.Logits), LossTolerance);
        Report("per-sample losses", Agreement.ElementWise(a.Losses, b.Losses), LossTolerance);
        Report($"IR-DRO weights (lambda {Lambda})", Agreement.RelativeToLargest(Floats(a.Weights), b.IrDroWeights), LossTolerance);
        Report($"MidRanking weights (frac {Fraction}, portion {Portion})", Agreement.RelativeToLargest(Floats(midRanking), b.MidRankingWeights), LossTolerance);
        string worstName = "";
        double worst = 0;
        foreach (var (name, theirGradient) in b.Gradients)
        {
            if (!a.Gradients.TryGetValue(name, out var ourGradient)) throw new InvalidOperationException($"HardFocus has no gradient for '{name}'.");
            double error = Agreement.RelativeToLargest(ourGradient, theirGradient);
            if (error >= worst) (worst, worstName) = (error, name);
        }
        Report($"gradients, {b.Gradients.Count} tensors (worst: {worstName})", worst, GradientTolerance);

        // Each step trains on its own padded batch; the losses a step reports come from the weights the earlier
        // steps left, and one more forward scores the weights the last step left.
        double stepped = 0;
        for (int step = 1; step <= Steps + 1; step++)
        {
            var next = SideBySideBatch.Padded(batchSize, seq, config.VocabSize, seed: 80 + (ulong)step);
            stepped = Math.Max(stepped, Agreement.ElementWise(ours.Step(next, new IrDro(Lambda)), theirs.Step(next, Lambda)));
        }
        Report($"losses over {Steps} AdamW steps (lr {LearningRate})", stepped, SteppedLossTolerance);
        Console.WriteLine(pass ? "parity: PASS" : "parity: FAIL");
        return pass ? 0 : 1;
    }

    private static float[] Floats(double[] values) => values.Select(v => (float)v).ToArray();
}
