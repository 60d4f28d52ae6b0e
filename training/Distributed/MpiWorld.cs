using System.Runtime.InteropServices;
using MPI;

namespace HardFocus.Training.Distributed;

/// <summary>
/// The ranks of an MPI job, through MPI.NET. MPI.NET speaks the MPICH ABI (MPICH, Intel MPI, MVAPICH, Cray MPICH),
/// whose library it names "msmpi.dll" after its Windows origin; <see cref="Start"/> points that name at the library
/// of this machine. Only <see cref="MpiLaunch"/> creates one, and only in a process an MPI launcher started, so a
/// plain run never loads MPI.NET.
/// </summary>
public sealed unsafe class MpiWorld : ICommunicator, IDisposable
{
    /// <summary>Names the MPI library to load when it is not one of <see cref="Libraries"/>.</summary>
    public const string LibraryVariable = "HARDFOCUS_MPI_LIBRARY";

    /// <summary>MPICH's and Cray's names, then Intel MPI's and MVAPICH's, which share MPICH's ABI.</summary>
    private static readonly string[] Libraries = ["libmpich.so.12", "libmpich.so", "libmpi.so.12"];

    // MPICH ABI constants that MPI.NET does not expose.
    private static readonly IntPtr InPlace = -1;
    private const int CommTypeShared = 1;

    private static IntPtr _library;
    private readonly MPI.Environment _environment;

    private MpiWorld()
    {
        string[] noArguments = [];
        // Funneled: the CPU backend's worker threads compute, but only the main thread calls MPI.
        _environment = new MPI.Environment(ref noArguments, Threading.Funneled);
        int rank, size;
        Check(Unsafe.MPI_Comm_rank(Unsafe.MPI_COMM_WORLD, out rank), "MPI_Comm_rank");
        Check(Unsafe.MPI_Comm_size(Unsafe.MPI_COMM_WORLD, out size), "MPI_Comm_size");
        (Rank, Size) = (rank, size);
        (LocalRank, LocalSize) = RankOnThisMachine();
    }

    public static MpiWorld Start()
    {
        LoadLibrary();
        return new MpiWorld();
    }

    public int Rank { get; }
    public int Size { get; }
    public int LocalRank { get; }
    public int LocalSize { get; }

    // The raw calls on built-in types: MPI.NET's generic ones build a datatype per .NET type and never free it.
    public float[] AllGather(float[] mine)
    {
        var all = new float[mine.Length * Size];
        fixed (float* send = mine, receive = all)
            Check(Unsafe.MPI_Allgather((IntPtr)send, mine.Length, Unsafe.MPI_FLOAT, (IntPtr)receive, mine.Length, Unsafe.MPI_FLOAT, Unsafe.MPI_COMM_WORLD), "MPI_Allgather");
        return all;
    }

    public ulong[] AllGather(ulong mine)
    {
        var all = new ulong[Size];
        fixed (ulong* receive = all)
            // As 8 bytes: MPI.NET's MPI_UNSIGNED_LONG follows MS-MPI, where a long is 4 bytes.
            Check(Unsafe.MPI_Allgather((IntPtr)(&mine), 8, Unsafe.MPI_UNSIGNED_CHAR, (IntPtr)receive, 8, Unsafe.MPI_UNSIGNED_CHAR, Unsafe.MPI_COMM_WORLD), "MPI_Allgather");
        return all;
    }

    public void SumInPlace(Span<float> values)
    {
        fixed (float* p = values)
            Check(Unsafe.MPI_Allreduce(InPlace, (IntPtr)p, values.Length, Unsafe.MPI_FLOAT, Unsafe.MPI_SUM, Unsafe.MPI_COMM_WORLD), "MPI_Allreduce");
    }

    public bool Any(bool mine)
    {
        int any = mine ? 1 : 0;
        Check(Unsafe.MPI_Allreduce(InPlace, (IntPtr)(&any), 1, Unsafe.MPI_INT, Unsafe.MPI_MAX, Unsafe.MPI_COMM_WORLD), "MPI_Allreduce");
        return any == 1;
    }

    /// <summary>Ends every rank of the job with <paramref name="exitCode"/>: a rank that fails alone must not leave the
    /// others waiting in a collective.</summary>
    public void Abort(int exitCode) => Unsafe.MPI_Abort(Unsafe.MPI_COMM_WORLD, exitCode);

    public string Host => MPI.Environment.ProcessorName;

    public void Dispose() => _environment.Dispose();

    /// <summary>This rank's place among the ranks that share its memory (MPI_COMM_TYPE_SHARED): one machine.</summary>
    private (int Rank, int Size) RankOnThisMachine()
    {
        var split = (delegate* unmanaged<int, int, int, int, int*, int>)NativeLibrary.GetExport(_library, "MPI_Comm_split_type");
        int local;
        Check(split(Unsafe.MPI_COMM_WORLD, CommTypeShared, Rank, Unsafe.MPI_INFO_NULL, &local), "MPI_Comm_split_type");
        int rank = 0, size = 0;
        Check(Unsafe.MPI_Comm_rank(local, out rank), "MPI_Comm_rank");
        Check(Unsafe.MPI_Comm_size(local, out size), "MPI_Comm_size");
        Check(Unsafe.MPI_Comm_free(ref local), "MPI_Comm_free");
        return (rank, size);
    }

    private static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"{call} failed with MPI error {code}.");
    }

    private static void LoadLibrary()
    {
        if (_library != IntPtr.Zero) return;
        string? named = System.Environment.GetEnvironmentVariable(LibraryVariable);
        foreach (var name in named is { Length: > 0 } ? [named] : Libraries)
            if (NativeLibrary.TryLoad(name, out _library)) break;
        if (_library == IntPtr.Zero)
            throw new DllNotFoundException(named is { Length: > 0 }
                ? $"{LibraryVariable}={named}: no such MPI library could be loaded."
                : $"No MPI library of the MPICH family was found ({string.Join(", ", Libraries)}): install MPICH (apt-get install mpich) or set {LibraryVariable}.");
        NativeLibrary.SetDllImportResolver(typeof(MPI.Environment).Assembly,
            (name, _, _) => name.StartsWith("msmpi", StringComparison.OrdinalIgnoreCase) ? _library : IntPtr.Zero);
    }
}
