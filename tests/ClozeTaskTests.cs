using HardFocus.Engine;
using HardFocus.Training.Data;
using HardFocus.Training.Eval;

namespace HardFocus.Tests;

public class ClozeTaskTests
{
    private static string Collapse(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Text made of a few phrases repeated in a seeded order, so many continuations recur word for word.</summary>
    private static string RepetitiveText(ulong seed, int phrases)
    {
        string[] pool =
        [
            "the whale swam on.", "the whale swam on.\n", "Call me Ishmael.", "the whale  swam on.", "and the sea was calm,",
            "Ahab stood on deck;", "the harpooneers waited", "under a grey sky.", "\n\nCHAPTER ONE.", "the whale swam off.",
        ];
        var rng = new Rng(seed);
        return string.Join(' ', Enumerable.Range(0, phrases).Select(_ => pool[rng.NextInt(pool.Length)]));
    }

    [Fact]
    public void Distractors_AreNeverTheTrueContinuationAndNeverRepeat()
    {
        var labels = new HashSet<int>();
        for (ulong seed = 0; seed < 40; seed++)
        {
            string text = RepetitiveText(seed, phrases: 300);
            var items = ClozeTask.Generate(text, count: 25, contextChars: 60, continuationChars: 12, choices: 4, seed: seed);
            Assert.Equal(25, items.Count);
            foreach (var item in items)
            {
                Assert.Equal(4, item.Choices.Count);
                labels.Add(item.Label);
                string truth = item.Choices[item.Label];
                // The true continuation is what follows the context in the text, cut at whitespace on both sides.
                Assert.Contains(item.Context + truth, text);
                Assert.False(char.IsWhiteSpace(item.Context[0]));
                Assert.False(char.IsWhiteSpace(item.Context[^1]));
                var distractors = item.Choices.Where((_, c) => c != item.Label).ToList();
                foreach (var choice in item.Choices)
                {
                    Assert.True(char.IsWhiteSpace(choice[0]), $"'{choice}' should start at whitespace");
                    Assert.False(char.IsWhiteSpace(choice[^1]));
                    Assert.True(choice.Length >= 12);
                    Assert.Contains(choice, text);
                }
                foreach (var d in distractors) Assert.NotEqual(Collapse(truth), Collapse(d));
                Assert.Equal(distractors.Count, distractors.Select(Collapse).Distinct().Count());
            }
        }
        Assert.Equal([0, 1, 2, 3], labels.Order());
    }

    [Fact]
    public void Generation_IsSeededAndSpreadsLabels()
    {
        string text = TextCorpus.MobyDick()[..200_000];
        var a = ClozeTask.Generate(text, 200, 150, 30, 4, seed: 5);
        var b = ClozeTask.Generate(text, 200, 150, 30, 4, seed: 5);
        var c = ClozeTask.Generate(text, 200, 150, 30, 4, seed: 6);
        Assert.Equal(a.Select(Describe), b.Select(Describe));
        Assert.NotEqual(a.Select(Describe), c.Select(Describe));
        Assert.Equal(200, a.Select(i => i.Context).Distinct().Count()); // no passage twice
        // A uniform label over 4 places: each gets 50 of 200 on average; 25 would be over five standard deviations off.
        var counts = Enumerable.Range(0, 4).Select(l => a.Count(i => i.Label == l)).ToArray();
        Assert.All(counts, n => Assert.InRange(n, 25, 75));
    }

    private static string Describe(ChoiceItem item) => item.Context + "|" + string.Join("|", item.Choices) + "|" + item.Label;

    [Fact]
    public void TextWithoutEnoughDistinctContinuations_IsAnError()
    {
        string monotone = string.Join(' ', Enumerable.Repeat("whale", 2000));
        var error = Assert.Throws<InvalidDataException>(() => ClozeTask.Generate(monotone, 5, 40, 10, 3, seed: 1));
        Assert.Contains("yields only 0 of the 5", error.Message);
        Assert.Throws<InvalidDataException>(() => ClozeTask.Generate("too short", 1, 40, 10, 2, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClozeTask.Generate(monotone, 1, 40, 10, choices: 1, seed: 1));
    }
}
