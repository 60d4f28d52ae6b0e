using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models.Gpt;
using HardFocus.Training.Data;
using HardFocus.Training.Eval;

namespace HardFocus.Tests;

public class ExactMatchTests
{
    /// <summary>Greedy decoding the slow way: one forward over the whole sequence per new token, argmax of the last row.</summary>
    private static int[] Greedy(GptModel model, int[] prompt, int count)
    {
        var tokens = prompt.ToList();
        using var noGrad = GradMode.NoGrad();
        for (int n = 0; n < count; n++)
        {
            using var scope = TensorScope.Begin();
            var logits = model.Forward(IndexTensor.FromArray(tokens.ToArray(), new Shape(1, tokens.Count), model.Backend)).ToArray();
            var last = logits.AsSpan((tokens.Count - 1) * 256, 256).ToArray();
            tokens.Add(Array.IndexOf(last, last.Max()));
        }
        return tokens.Skip(prompt.Length).ToArray();
    }

    /// <summary>A sample laid out as training lays out a prompt and response: the mask covers the response's targets.</summary>
    private static Sample Layout(int[] prompt, int[] response)
    {
        int[] all = [.. prompt, .. response];
        int n = all.Length - 1;
        var mask = new float[n];
        for (int t = prompt.Length - 1; t < n; t++) mask[t] = 1;
        return new Sample(all[..n], all[1..], mask);
    }

    [Fact]
    public void Score_AgreesWithTokenByTokenGreedyDecoding()
    {
        using var model = new GptModel(GptConfig.Tiny(256) with { ContextLength = 16 }, new CpuBackend(), seed: 3);
        var rng = new Rng(11);
        var samples = new List<Sample>();
        var expected = new List<bool>();
        for (int i = 0; i < 12; i++)
        {
            var prompt = Enumerable.Range(0, 5).Select(_ => rng.NextInt(256)).ToArray();
            var response = Greedy(model, prompt, 4);
            samples.Add(Layout(prompt, response));
            expected.Add(true);
            // The same response with one token changed, first, middle or last: greedy decoding would not produce it.
            var wrong = (int[])response.Clone();
            int at = i % 4;
            wrong[at] = (wrong[at] + 1 + rng.NextInt(255)) % 256;
            samples.Add(Layout(prompt, wrong));
            expected.Add(false);
        }
        Assert.Equal(expected, ExactMatch.Score(model, samples, batchSize: 5));
    }
}
