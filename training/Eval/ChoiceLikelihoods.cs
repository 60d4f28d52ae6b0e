using HardFocus.Engine;
using HardFocus.Engine.Autograd;
using HardFocus.Models;
using HardFocus.Training.Data;
using HardFocus.Training.Text;

namespace HardFocus.Training.Eval;

/// <summary>
/// log P(choice | context) for every choice of every item: the sum of the log-probabilities of the choice's tokens,
/// each given the context and the choice tokens before it.
/// </summary>
public static class ChoiceLikelihoods
{
    /// <summary>
    /// The token sequence scored for one choice and how many of its last tokens are the choice: the context's tokens
    /// (the end-of-text token when the context is empty, so the first choice token has something to be predicted
    /// from) followed by the choice's tokens, cut from the left to the model's context plus one (the last token is
    /// only a target). Only the context is ever cut; a choice longer than the model's context is an error.
    /// </summary>
    public static (int[] Tokens, int ChoiceTokens) Encode(ITokenizer tokenizer, string context, string choice, int contextLength)
    {
        var contextTokens = tokenizer.Encode(context);
        if (contextTokens.Length == 0) contextTokens = [tokenizer.EndOfText];
        var choiceTokens = tokenizer.Encode(choice);
        if (choiceTokens.Length == 0) throw new ArgumentException($"The choice \"{choice}\" encodes to no tokens.");
        if (choiceTokens.Length > contextLength)
            throw new ArgumentException($"A choice of {choiceTokens.Length} tokens does not fit the model's context of {contextLength} with any context before it.");
        int[] tokens = [.. contextTokens, .. choiceTokens];
        if (tokens.Length > contextLength + 1) tokens = tokens[^(contextLength + 1)..];
        return (tokens, choiceTokens.Length);
    }

    /// <summary>
    /// [item][choice] summed log-likelihoods. Sequences are scored <paramref name="batchSize"/> at a time, longest
    /// first (so batches hold similar lengths and an out-of-memory shows up in the first batch), right-padded: under
    /// causal attention padding after a sequence cannot change its logits, and the mask leaves it out of the sum.
    /// </summary>
    public static double[][] Compute(DecoderModel model, ITokenizer tokenizer, IReadOnlyList<ChoiceItem> items, int batchSize = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var scores = new double[items.Count][];
        var requests = new List<Request>();
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].Problem() is { } problem) throw new ArgumentException($"Item {i}: {problem}");
            scores[i] = new double[items[i].Choices.Count];
            for (int c = 0; c < items[i].Choices.Count; c++)
            {
                var (tokens, choiceTokens) = Encode(tokenizer, items[i].Context, items[i].Choices[c], model.Config.ContextLength);
                requests.Add(new Request(i, c, tokens, choiceTokens));
            }
        }
        var ordered = requests.OrderByDescending(r => r.Tokens.Length).ToArray();

        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            using var noGrad = GradMode.NoGrad();
            for (int start = 0; start < ordered.Length; start += batchSize)
            {
                var batch = ordered.AsSpan(start, Math.Min(batchSize, ordered.Length - start));
                var sums = ScoreBatch(model, tokenizer.Padding, batch);
                for (int b = 0; b < batch.Length; b++) scores[batch[b].Item][batch[b].Choice] = sums[b];
            }
        }
        finally { model.Training = wasTraining; }
        return scores;
    }

    private sealed record Request(int Item, int Choice, int[] Tokens, int ChoiceTokens);

    private static double[] ScoreBatch(DecoderModel model, int padToken, ReadOnlySpan<Request> batch)
    {
        int rows = batch.Length, time = 0;
        foreach (var r in batch) time = Math.Max(time, r.Tokens.Length - 1);
        var samples = new Sample[rows];
        for (int b = 0; b < rows; b++)
        {
            var tokens = batch[b].Tokens;
            int length = tokens.Length - 1;
            var (ids, targets, mask) = (new int[time], new int[time], new float[time]);
            Array.Fill(ids, padToken);
            Array.Fill(targets, padToken);
            tokens.AsSpan(0, length).CopyTo(ids);
            tokens.AsSpan(1, length).CopyTo(targets);
            // Position t predicts token t + 1; the choice's tokens are the last ChoiceTokens targets.
            mask.AsSpan(length - batch[b].ChoiceTokens, batch[b].ChoiceTokens).Fill(1f);
            samples[b] = new Sample(ids, targets, mask);
        }

        using var scope = TensorScope.Begin();
        var (idTensor, targetTensor, maskTensor) = BatchTensors.Create(samples, model);
        var crossEntropy = Ops.CrossEntropy(model.Forward(idTensor), targetTensor, maskTensor).ToArray();
        var sums = new double[rows];
        for (int b = 0; b < rows; b++)
            for (int t = 0; t < time; t++)
                sums[b] -= crossEntropy[b * time + t]; // masked positions are exactly 0
        return sums;
    }
}
