using System.Diagnostics;
using System.Runtime.InteropServices;

namespace HardFocus.Bench.Torch;

/// <summary>
/// Makes TorchSharp's native library load on systems whose libstdc++ is older than the GCC 13 one it was built
/// against (Debian 12). Exactly one symbol needs the newer library: std::ios_base_library_init() at GLIBCXX_3.4.32.
/// The fix-up compiles a shim that defines it, clears that symbol's version, retargets the GLIBCXX_3.4.32 requirement
/// to GLIBCXX_3.4 (which every libstdc++ has) and adds the shim as a needed library. It edits only the copy of
/// libLibTorchSharp.so in this program's own output folder, never the package cache, and does nothing when the library
/// already loads, so running it again is harmless; a rebuild that copies the original back just gets it patched again.
/// </summary>
internal static class NativeSetup
{
    private const string Library = "libLibTorchSharp.so";
    private const string Shim = "libhardfocus_ios_init.so";
    private const string ShimSource = "Native/ios_base_library_init.cpp";
    private const string Symbol = "_ZSt21ios_base_library_initv";
    private const string Libstdcxx = "libstdc++.so.6";
    private const string Missing = "GLIBCXX_3.4.32", StandIn = "GLIBCXX_3.4";

    /// <summary>Null when TorchSharp's native library loads (after fixing it if needed); otherwise one line saying why not.</summary>
    public static string? Ensure(TextWriter log)
    {
        if (!OperatingSystem.IsLinux()) return null;
        // The build copies the library both beside the program and under runtimes/; TorchSharp may take either.
        var copies = new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", Library), Path.Combine(AppContext.BaseDirectory, Library) }
            .Where(File.Exists).ToList();
        if (copies.Count == 0) return $"{Library} is not in {AppContext.BaseDirectory}; build the bench first (dotnet build bench/Torch -c Release).";
        if (TryLoad(copies[0], out _)) return null;

        var needing = copies.Where(c => ElfVersionNeeds.Required(c, Libstdcxx).Contains(Missing)).ToList();
        if (needing.Count == 0)
            return TryLoad(copies[0], out string error) ? null : $"{Library} does not load, and not for the known {Missing} reason: {error}";
        foreach (var tool in new[] { "g++", "patchelf" })
            if (FindOnPath(tool) == null)
                return $"{Library} needs {Missing}, which this system's libstdc++ lacks; fixing that needs {tool}, which is not installed (Debian: apt-get install {tool}).";

        foreach (var path in needing)
        {
            string folder = Path.GetDirectoryName(path)!;
            log.WriteLine($"setup: {Library} needs {Missing} from {Libstdcxx}; patching the copy in {folder}");
            // Patch a copy and rename it over the original, so an interrupted fix-up never leaves a half-edited library.
            string work = path + ".patching";
            File.Copy(path, work, overwrite: true);
            try
            {
                Run("g++", "-shared", "-fPIC", "-O2", "-o", Path.Combine(folder, Shim), Path.Combine(AppContext.BaseDirectory, ShimSource));
                Run("patchelf", "--clear-symbol-version", Symbol, work);
                Run("patchelf", "--add-needed", Shim, work); // found beside it: the library's RUNPATH starts with $ORIGIN
                ElfVersionNeeds.Retarget(work, Libstdcxx, Missing, StandIn);
                File.Move(work, path, overwrite: true);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or InvalidDataException or UnauthorizedAccessException)
            {
                return $"the fix-up of {Library} failed: {e.Message.ReplaceLineEndings(" ")}";
            }
            finally
            {
                File.Delete(work);
            }
        }
        return TryLoad(copies[0], out string after) ? null : $"{Library} still does not load after the fix-up: {after}";
    }

    private static bool TryLoad(string path, out string error)
    {
        try
        {
            NativeLibrary.Load(path);
            error = "";
            return true;
        }
        catch (DllNotFoundException e)
        {
            error = e.Message.ReplaceLineEndings(" ");
            return false;
        }
    }

    private static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);

    private static void Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed ({process.ExitCode}): {output.ReplaceLineEndings(" ").Trim()}");
    }
}
