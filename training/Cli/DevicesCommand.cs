using System.CommandLine;

namespace HardFocus.Training.Cli;

public static class DevicesCommand
{
    public static Command Create()
    {
        var command = new Command("devices", "List the compute devices present and what each --device value would use.");
        command.SetAction(_ =>
        {
            foreach (var (name, description, usedFor) in Devices.List())
                Console.WriteLine($"{name,-10} {description}  [{usedFor}]");
            return 0;
        });
        return command;
    }
}
