using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Models;
using HardFocus.Training.Text;

namespace HardFocus.Training.Cli;

/// <summary>Autoregressive sampling with temperature and top-k through a key/value cache; past the model's context the
/// window slides (see <see cref="SlidingContext"/>).</summary>
public static class Generator
{
    /// <summary>A character takes at most 4 UTF-8 bytes, so at most 4 byte-level tokens; a piece held back longer is
    /// simply not UTF-8 and is passed on as it decodes.</summary>
    private const int MaxHeldTokens = 4;

    /// <summary>
    /// The continuation of <paramref name="prompt"/>. <paramref name="onText"/>, when given, receives it in pieces as it is
    /// generated: a token that ends inside a multi-byte character is held back until the character is complete, so
    /// whenever the model's bytes are valid UTF-8 the pieces join to exactly the returned text.
    /// </summary>
    public static string Generate(DecoderModel model, ITokenizer tokenizer, string prompt, int maxTokens, float temperature, int topK, ulong seed,
        Action<string>? onText = null)
    {
        if (!(temperature >= 0) || !float.IsFinite(temperature)) throw new ArgumentException($"The temperature must be a finite number >= 0, got {temperature}.");
        var rng = new Rng(seed);
        var tokens = tokenizer.Encode(prompt).ToList();
        if (tokens.Count == 0) tokens.Add(tokenizer.EndOfText);
        int promptLength = tokens.Count, shown = promptLength;
        model.Training = false;
        int modelVocab = model.Config.VocabSize;
        // A checkpoint's embedding may have rows past the tokenizer's last id (Qwen2.5 pads it; smollm-135m trained on bytes
        // has 48,896 spare): only ids the tokenizer can decode are sampled.
        var logits = new float[Math.Min(modelVocab, tokenizer.VocabSize)];
        using (GradMode.NoGrad())
        // Room for every token this call can read, up to the model's context (past which the window slides).
        using (var context = new SlidingContext(model, Math.Min(model.Config.ContextLength, promptLength + maxTokens)))
        {
            var nextLogits = context.Start(tokens);
            for (int n = 0; n < maxTokens; n++)
            {
                if (n > 0) nextLogits = context.Add(tokens[^1]);
                Array.Copy(nextLogits, logits, logits.Length);
                int token = Sample(logits, temperature, topK, rng);
                if (token == tokenizer.EndOfText) break;
                tokens.Add(token);
                if (onText != null)
                {
                    string piece = tokenizer.Decode(tokens.Skip(shown).ToArray());
                    if (!piece.EndsWith('\uFFFD') || tokens.Count - shown >= MaxHeldTokens)
                    {
                        onText(piece);
                        shown = tokens.Count;
                    }
                }
            }
        }
        if (onText != null && shown < tokens.Count) onText(tokenizer.Decode(tokens.Skip(shown).ToArray()));
        return tokenizer.Decode(tokens.Skip(promptLength).ToArray());
    }

    private static int Sample(float[] logits, float temperature, int topK, Rng rng)
    {
        if (temperature <= 0) return Array.IndexOf(logits, logits.Max());
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).Take(topK > 0 ? topK : logits.Length).ToArray();
        double max = logits[order[0]];
        var p = order.Select(i => Math.Exp((logits[i] - max) / temperature)).ToArray();
        double u = rng.NextFloat() * p.Sum();
        for (int i = 0; i < p.Length; i++)
            if ((u -= p[i]) <= 0) return order[i];
        return order[^1];
    }
}
