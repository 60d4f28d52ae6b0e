namespace HardFocus.Training.Optim;

/// <summary>Learning rate as a function of the optimizer step (1-based). Constant is the paper's reference setting.</summary>
public sealed record LearningRateSchedule(float Peak, int WarmupSteps, int TotalSteps, bool Cosine, float MinFraction = 0.1f)
{
    public static LearningRateSchedule Constant(float lr) => new(lr, 0, 0, false);

    public float At(int step)
    {
        if (WarmupSteps > 0 && step <= WarmupSteps) return Peak * step / WarmupSteps;
        if (!Cosine || TotalSteps <= WarmupSteps) return Peak;
        double progress = Math.Clamp((double)(step - WarmupSteps) / (TotalSteps - WarmupSteps), 0, 1);
        double min = Peak * MinFraction;
        return (float)(min + 0.5 * (Peak - min) * (1 + Math.Cos(Math.PI * progress)));
    }
}
