namespace HardFocus.Training.Reweighting;

public static class ReweighterFactory
{
    /// <summary>The reweighter <paramref name="options"/> asks for; a new instance, so stateful ones start fresh.</summary>
    public static IReweighter Create(TrainOptions options) => options.Reweight switch
    {
        ReweightMethod.Erm => new Erm(),
        ReweightMethod.Midrank => new MidRanking(options.Frac, options.Portion),
        ReweightMethod.Irdro => new IrDro(options.Lambda),
        ReweightMethod.Cvar => new Cvar(options.Alpha),
        ReweightMethod.TrimmedIrdro => new TrimmedIrdro(options.Lambda, options.Trim),
        ReweightMethod.Midloss => new Midloss(options.Lambda),
        ReweightMethod.RunningIrdro => new RunningIrdro(options.Lambda),
        _ => throw new ArgumentOutOfRangeException(nameof(options), $"Unknown reweighting {options.Reweight}."),
    };
}
