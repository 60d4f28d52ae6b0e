namespace HardFocus.Bench.Torch;

public static class Program
{
    public static int Main(string[] args)
    {
        string? problem = NativeSetup.Ensure(Console.Out);
        if (problem != null) { Console.Error.WriteLine("error: " + problem); return 3; }
        Console.WriteLine($"torch {TorchSharp.torch.__version__}");
        return 0;
    }
}
