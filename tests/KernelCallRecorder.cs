using System.Collections.Concurrent;
using System.Reflection;
using HardFocus.Engine.Backends;

namespace HardFocus.Tests;

/// <summary>
/// An <see cref="IBackend"/> that forwards every call to a real backend and remembers the member's name, so a test can
/// see which kernels some code actually ran. Members with span parameters (Upload, Download) cannot pass through a
/// dispatch proxy; kernel checks call those on the real backend, never through the recorder.
/// </summary>
public class KernelCallRecorder : DispatchProxy
{
    private IBackend _target = null!;

    public ConcurrentDictionary<string, bool> Calls { get; } = new();
    public IEnumerable<string> Called => Calls.Keys;

    public static IBackend Wrap(IBackend target)
    {
        var proxy = Create<IBackend, KernelCallRecorder>();
        ((KernelCallRecorder)(object)proxy)._target = target;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(method);
        Calls[method.IsSpecialName ? method.Name[4..] : method.Name] = true;
        try { return method.Invoke(_target, args); }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
