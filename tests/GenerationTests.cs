using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Engine.Backends;
using HardFocus.Engine.Backends.Cpu;
using HardFocus.Models;
using HardFocus.Models.Gpt;
using HardFocus.Models.Llama;
using HardFocus.Training.Cli;

namespace HardFocus.Tests;

/// <summary>Generation through the key/value cache against rerunning the whole sequence, on both backends.</summary>
[Collection("ilgpu")]
public sealed class GenerationTests(IlgpuFixture ilgpu)
{
    private const int Vocab = 48, Context = 16;

    private IBackend Backend(string name) => name == "ilgpu" ? ilgpu.Backend : CpuBackend.Shared;

    /// <summary>A tiny GPT-2, or a tiny LLaMA with 4 query heads over 2 key/value heads and an untied head, with weights
    /// drawn wide enough (std 0.3) that attention is sharp and the logits far apart: uniform attention would hide a key
    /// at the wrong position, and near-ties would make greedy tokens hang on rounding.</summary>
    private DecoderModel Model(string family, string backend)
    {
        DecoderModel model = family == "gpt"
            ? new GptModel(new GptConfig { VocabSize = Vocab, ContextLength = Context, Layers = 2, Heads = 2, Width = 16 }, Backend(backend), seed: 3)
            : new LlamaModel(new LlamaConfig
            {
                VocabSize = Vocab, ContextLength = Context, Layers = 2, Heads = 4, KvHeads = 2, Width = 32, MlpWidth = 48,
            }, Backend(backend), seed: 3);
        var rng = new Rng(11);
        foreach (var p in model.Parameters().Where(p => p.Rank == 2))
            p.CopyFrom(Enumerable.Range(0, p.Length).Select(_ => 0.3f * rng.NextGaussian()).ToArray());
        return model;
    }

    private static float[] FullForwardLastRow(DecoderModel model, IReadOnlyList<int> tokens)
    {
        using var scope = TensorScope.Begin();
        var all = model.Forward(IndexTensor.FromArray(tokens.ToArray(), new Shape(1, tokens.Count), model.Backend)).ToArray();
        return all[^Vocab..];
    }

    private static float[] CachedForwardLast(DecoderModel model, KeyValueCache cache, params int[] tokens)
    {
        using var scope = TensorScope.Begin();
        return model.ForwardLast(IndexTensor.FromArray(tokens, new Shape(1, tokens.Length), model.Backend), cache).ToArray();
    }

    private static int ArgMax(float[] logits) => Array.IndexOf(logits, logits.Max());

    [Theory]
    [InlineData("gpt", "cpu")]
    [InlineData("gpt", "ilgpu")]
    [InlineData("llama", "cpu")]
    [InlineData("llama", "ilgpu")]
    public void CachedGreedyDecoding_MatchesFullRecomputation_TokenForTokenAndWithin1e5(string family, string backend)
    {
        using var model = Model(family, backend);
        using var noGrad = GradMode.NoGrad();
        using var cache = model.CreateCache(Context);
        var tokens = new List<int> { 5, 17, 2, 40, 9 };
        var cached = CachedForwardLast(model, cache, tokens.ToArray());
        // On the CPU up to the full context, so the last step reads the cache's last position; the emulator, tens of
        // nanoseconds an element, does a few steps.
        int end = backend == "cpu" ? Context : tokens.Count + 4;
        while (true)
        {
            var full = FullForwardLastRow(model, tokens);
            for (int i = 0; i < Vocab; i++) Assert.True(Math.Abs(cached[i] - full[i]) <= 1e-5f, $"position {tokens.Count - 1}, logit {i}: cached {cached[i]}, full {full[i]}");
            Assert.Equal(ArgMax(full), ArgMax(cached));
            if (tokens.Count == end) break;
            tokens.Add(ArgMax(full));
            cached = CachedForwardLast(model, cache, tokens[^1]);
        }
        Assert.Equal(end, cache.Length);
        Assert.True(tokens.Skip(5).Distinct().Count() > 1, "greedy decoding repeated one token: the test would hardly notice a misplaced key");
    }

    [Theory]
    [InlineData("gpt", 6)]
    [InlineData("llama", 6)]
    [InlineData("llama", Context + 4)]
    public void Generate_Greedy_MatchesFullRecomputation_WhileTheWindowSlides(string family, int promptLength)
    {
        using var model = Model(family, "cpu");
        var prompt = Enumerable.Range(0, promptLength).Select(i => 1 + i * 7 % (Vocab - 1)).ToArray();
        const int maxTokens = 3 * Context;
        string text = Generator.Generate(model, new NumberTokenizer(), string.Join(' ', prompt), maxTokens, temperature: 0f, topK: 0, seed: 1);
        var generated = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();

        // The documented policy, recomputed in full: the window holds the newest tokens (a long prompt's last ones); one
        // that does not fit drops the older half and the newer half starts over at position 0.
        using var noGrad = GradMode.NoGrad();
        var window = prompt.TakeLast(Context).ToList();
        var expected = new List<int>();
        for (int n = 0; n < maxTokens; n++)
        {
            int next = ArgMax(FullForwardLastRow(model, window));
            if (next == new NumberTokenizer().EndOfText) break;
            expected.Add(next);
            window.Add(next);
            if (window.Count > Context) window.RemoveRange(0, window.Count - Context / 2);
        }
        Assert.Equal(expected, generated);
        Assert.Equal(maxTokens, generated.Count);
    }

    [Fact]
    public void ForwardLast_RefusesWhatTheCacheCannotHold()
    {
        using var model = Model("llama", "cpu");
        using (var cache = model.CreateCache(4))
        {
            Assert.Contains("run it under GradMode.NoGrad()", Assert.Throws<InvalidOperationException>(() => CachedForwardLast(model, cache, 1, 2)).Message);
        }
        using var noGrad = GradMode.NoGrad();
        using (var cache = model.CreateCache(4))
        {
            CachedForwardLast(model, cache, 1, 2, 3);
            Assert.Contains("one token at a time", Assert.Throws<InvalidOperationException>(() => CachedForwardLast(model, cache, 4, 5)).Message);
            CachedForwardLast(model, cache, 4);
            Assert.Contains("holds 4 of 4 positions", Assert.Throws<InvalidOperationException>(() => CachedForwardLast(model, cache, 5)).Message);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateCache(Context + 1));
    }
}
