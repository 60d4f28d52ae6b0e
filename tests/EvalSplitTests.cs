using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models.Gpt;
using HardFocus.Training;
using HardFocus.Training.Data;
using HardFocus.Training.Eval;
using HardFocus.Training.Text;

namespace HardFocus.Tests;

public class EvalSplitTests
{
    private static string Numbers(int from, int count) => string.Join(' ', Enumerable.Range(from, count));

    [Fact]
    public void Val_IsTheHeldOutTailAndAll_IsEveryWindow()
    {
        // 401 tokens: 100 windows of 4; a tenth (10) held out after a one-window gap.
        string[] documents = [Numbers(1, 401)];
        var val = EvalSplits.LanguageModeling(documents, new NumberTokenizer(), 4, 0.1, EvalSplit.Val);
        var all = EvalSplits.LanguageModeling(documents, new NumberTokenizer(), 4, 0.1, EvalSplit.All);
        Assert.Equal(10, val.Count);
        Assert.Equal(361, val[0].Input[0]);
        Assert.Equal(400, val[^1].Input[^1]);
        Assert.Equal(100, all.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 1 + 4 * i), all.Select(w => w.Input[0]));
        Assert.Equal(LanguageModelingData.Build(documents, new NumberTokenizer(), 4, 0.1).Validation.Select(w => w.Input), val.Select(w => w.Input));
        Assert.Equal(EvalSplit.All, EvalSplits.Parse("all"));
        Assert.Throws<ArgumentException>(() => EvalSplits.Parse("train"));
    }

    [Fact]
    public void Cap_SpreadsEvenlyOverTheWholeSplit()
    {
        var items = Enumerable.Range(0, 10).ToArray();
        Assert.Equal([0, 2, 5, 7], EvalSplits.Spread(items, 4));
        Assert.Same(items, EvalSplits.Spread(items, 10));
        Assert.Same(items, EvalSplits.Spread(items, 256));

        var windows = EvalSplits.LanguageModeling([Numbers(1, 4001)], new NumberTokenizer(), 4, 0.25, EvalSplit.Val); // 250 windows
        var capped = EvalSplits.Spread(windows, 20);
        Assert.Equal(20, capped.Count);
        Assert.Same(windows[0], capped[0]);
        Assert.True(capped[^1].Input[0] > windows[^1].Input[0] - 250 * 4 / 20, "the last pick lies in the last twentieth of the split");
        var starts = capped.Select(w => w.Input[0]).ToArray();
        Assert.Equal(starts.Order(), starts);
        Assert.All(starts.Zip(starts[1..]), p => Assert.InRange(p.Second - p.First, 48, 52)); // 12.5 windows of 4 apart
        Assert.Throws<ArgumentOutOfRangeException>(() => EvalSplits.Spread(items, 0));
    }

    [Fact]
    public void Summary_GivesQuantilesMeanAndStdOfAKnownArray()
    {
        float[] losses = [5, 1, 4, 2, 3];
        var summary = LossDistribution.Summarize(losses);
        Assert.Equal(5, summary.Count);
        Assert.Equal(3.0, summary.Mean, 12);
        Assert.Equal(Math.Sqrt(2), summary.Std, 12);
        Assert.Equal(LossDistribution.DefaultQuantiles, summary.Quantiles.Select(q => q.Q));
        // numpy.quantile([1, 2, 3, 4, 5], q): 1.04, 1.2, 1.4, 2, 3, 4, 4.6, 4.8, 4.96
        Assert.Equal([1.04, 1.2, 1.4, 2, 3, 4, 4.6, 4.8, 4.96], summary.Quantiles.Select(q => Math.Round(q.Value, 10)));
        Assert.Equal(7.0, LossDistribution.Summarize([7f]).Quantiles[0].Value);
        Assert.Throws<ArgumentException>(() => LossDistribution.Summarize([]));
    }

    [Fact]
    public void PerSampleLosses_GiveTheEvaluatorsPerplexityInOnePass()
    {
        var tokenizer = new ByteTokenizer();
        using var model = new GptModel(GptConfig.Tiny(256), new CpuBackend(), seed: 3);
        var windows = EvalSplits.LanguageModeling([TextCorpus.MobyDick()[..20_000]], tokenizer, 32, 0.1, EvalSplit.Val);
        model.Training = true;
        var losses = LossDistribution.PerSampleLosses(model, windows, batchSize: 7);
        Assert.True(model.Training, "the model's mode is restored");
        Assert.Equal(windows.Count, losses.Length);
        Assert.All(losses, l => Assert.InRange(l, 4.5f, 6.5f)); // about ln 256 = 5.55 for an untrained model

        model.Training = false;
        var evaluation = Evaluator.Evaluate(model, windows, batchSize: 5);
        var fromLosses = Perplexity.FromLosses(windows, losses);
        Assert.Equal(evaluation.Tokens, fromLosses.Tokens);
        Assert.Equal(evaluation.Loss, fromLosses.Loss, 5);

        var capped = LossDistribution.PerSampleLosses(model, windows, batchSize: 4, maxSequences: 5);
        var spread = EvalSplits.Spread(windows, 5);
        Assert.Equal(5, capped.Length);
        for (int i = 0; i < 5; i++) Assert.Equal(losses[windows.ToList().IndexOf(spread[i])], capped[i], 4);
    }

    [Fact]
    public void HeldOutText_DecodesWindowsBackToTheirText()
    {
        var tokenizer = new ByteTokenizer();
        const int seqLen = 5;
        string first = "Ça va? Très bien, merci — et toi?", second = "Zwei Bäume";
        // Pad the second document until the stream is an exact number of windows plus the last target.
        while ((tokenizer.Encode(first).Length + 1 + tokenizer.Encode(second).Length - 1) % seqLen != 0) second += "x";
        var windows = EvalSplits.LanguageModeling([first, second], tokenizer, seqLen, 0, EvalSplit.All);
        Assert.Equal(first + HeldOutText.DocumentBreak + second, HeldOutText.FromWindows(windows, tokenizer));

        // Windows that do not follow each other are separate documents.
        string[] ascii = ["abcdefghijklmnopqrstuvwxyz"];
        var letters = EvalSplits.LanguageModeling(ascii, tokenizer, 4, 0, EvalSplit.All);
        Assert.Equal("abcde" + HeldOutText.DocumentBreak + "ijklm", HeldOutText.FromWindows([letters[0], letters[2]], tokenizer));
        Assert.Equal("abcdefghi", HeldOutText.FromWindows([letters[0], letters[1]], tokenizer));
    }
}
