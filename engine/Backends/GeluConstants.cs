namespace HardFocus.Engine.Backends;

/// <summary>
/// GPT-2's tanh approximation of GELU in the form both backends compute: gelu(x) = x * sigmoid(2u) with
/// u = sqrt(2/pi) (x + 0.044715 x³), because 0.5 (1 + tanh u) = sigmoid(2u). Its derivative is
/// s + x s (1 - s) 2u' with s = sigmoid(2u) and 2u' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x²).
/// </summary>
public static class GeluConstants
{
    /// <summary>2 sqrt(2/pi): the scale of 2u.</summary>
    public const float TwoSqrtTwoOverPi = 1.5957691216057308f;

    /// <summary>The cubic term's weight in u.</summary>
    public const float Cubic = 0.044715f;

    /// <summary>3 * 0.044715: the cubic term's weight in u' (the derivative of x³ is 3x²).</summary>
    public const float CubicSlope = 3f * Cubic;
}
