using HardFocus.Training;

namespace HardFocus.Tests;

/// <summary>
/// A run folder's file operations on the real disk that fail from operation number <c>failAt</c> on (1-based; 0 never
/// fails), the way a disk that fills up fails every later write, so the cleanup after the first failure fails too and
/// leaves its temporary file behind. Operations are creates, every write call on a created file, flushes, renames and
/// deletes. A write that fails first writes half its bytes, as a write cut short by a full disk does.
/// Flushes stop at the OS: what these tests check is the order of operations, not durability.
/// </summary>
internal sealed class FailingRunFolderIO(int failAt) : IRunFolderIO
{
    /// <summary>How many operations were attempted, the failed ones included.</summary>
    public int Operations { get; private set; }

    public bool Failed => failAt > 0 && Operations >= failAt;

    private void Next(string what)
    {
        Operations++;
        if (Failed) throw new IOException($"Injected failure at operation {Operations}: {what}.");
    }

    public Stream Create(string path)
    {
        Next($"create {Path.GetFileName(path)}");
        return new FailingStream(this, DiskRunFolderIO.Instance.Create(path));
    }

    public void Flush(Stream stream)
    {
        Next("flush");
        ((FailingStream)stream).Inner.Flush();
    }

    public void Move(string from, string to)
    {
        Next($"move {Path.GetFileName(from)} to {Path.GetFileName(to)}");
        DiskRunFolderIO.Instance.Move(from, to);
    }

    public void Delete(string path)
    {
        Next($"delete {Path.GetFileName(path)}");
        DiskRunFolderIO.Instance.Delete(path);
    }

    private sealed class FailingStream(FailingRunFolderIO io, Stream inner) : Stream
    {
        public Stream Inner => inner;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.IsEmpty) return;
            try { io.Next("write"); }
            catch (IOException)
            {
                inner.Write(buffer[..(buffer.Length / 2)]);
                throw;
            }
            inner.Write(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
