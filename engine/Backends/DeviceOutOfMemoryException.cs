namespace HardFocus.Engine.Backends;

/// <summary>A device could not hold a buffer even after its pool gave back every idle one. The message names the size
/// asked for and the device, so a user knows what to shrink (batch, sequence, model).</summary>
public sealed class DeviceOutOfMemoryException(string message, Exception inner) : OutOfMemoryException(message, inner);
