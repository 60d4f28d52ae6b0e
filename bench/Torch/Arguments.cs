using System.Globalization;

namespace HardFocus.Bench.Torch;

/// <summary>The options of one command, "--name value" pairs; anything unknown, repeated or malformed is a usage error.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public Arguments(string command, IReadOnlyList<string> args, string[] options, string[] flags)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (flags.Contains(a)) { if (!_flags.Add(a)) throw new UsageException($"{command}: {a} is given twice."); continue; }
            if (!options.Contains(a)) throw new UsageException($"{command}: unknown option '{a}'; it takes {string.Join(", ", options.Concat(flags))}.");
            if (i + 1 >= args.Count) throw new UsageException($"{command}: {a} needs a value.");
            if (!_values.TryAdd(a, args[++i])) throw new UsageException($"{command}: {a} is given twice.");
        }
        Command = command;
    }

    public string Command { get; }

    public bool Flag(string name) => _flags.Contains(name);

    public string Text(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public int Integer(string name, int fallback, int min, int max)
    {
        if (!_values.TryGetValue(name, out var raw)) return fallback;
        return int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max ? n
            : throw new UsageException($"{Command}: {name} must be an integer from {min} to {max}, got '{raw}'.");
    }
}
