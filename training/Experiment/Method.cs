
namespace HardFocus.Training.Experiment;

/// <summary>Which budget a method is compared at: the same optimizer steps as ERM, or (for methods that keep only a
/// fraction f of each pool) pools 1/f times larger, so that as many samples as ERM's reach the gradient.</summary>
public enum Budget { EqualSteps, EqualSamples }

/// <summary>
/// One method compared in an experiment: a reweighter with its settings and the pool it sees. <see cref="Name"/> is
/// also the arm's folder name, so it is short and file-safe.
/// </summary>
public sealed record Method(string Name, ReweightMethod Reweight, Budget Budget = Budget.EqualSteps, double Lambda = 1.0,
    double Frac = 0.25, int Portion = 1, double Alpha = 0.25, double Trim = 0.125, int Patience = 1)
{
    public TrainOptions Apply(TrainOptions options) => options with
    {
        Reweight = Reweight, Lambda = Lambda, Frac = Frac, Portion = Portion, Alpha = Alpha, Trim = Trim, Patience = Patience,
    };

    /// <summary>What the method does, in the words of the results table.</summary>
    public string Describe() => Reweight switch
    {
        ReweightMethod.Erm => "uniform weights",
        ReweightMethod.Midrank => $"keep loss-rank block {Portion} of size {Frac:0.##}·n" + Pool,
        ReweightMethod.Irdro => $"softmax(l/{Lambda:0.###})",
        ReweightMethod.Cvar => $"mean of the top {Alpha:0.##} of losses" + Pool,
        ReweightMethod.TrimmedIrdro => $"drop the top {Trim:0.###}, softmax(l/{Lambda:0.###}) of the rest",
        ReweightMethod.Midloss => $"softmax of a mid-loss score, temperature {Lambda:0.###}",
        ReweightMethod.RunningIrdro => $"softmax(l/({Lambda:0.###}·running loss std))",
        _ => Reweight.ToString(),
    };

    private string Pool => Patience > 1 ? $", pools of {Patience} micro-batches" : "";

    /// <summary>The equal-samples twin of a method that keeps a fraction of each pool: patience ≈ 1/fraction.</summary>
    public Method EqualSamples(double keptFraction) =>
        this with { Name = $"{Name}-pool{(int)Math.Round(1 / keptFraction)}", Budget = Budget.EqualSamples, Patience = (int)Math.Round(1 / keptFraction) };
}
