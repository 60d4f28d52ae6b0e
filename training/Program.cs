using System.CommandLine;
using HardFocus.Training.Cli;

var root = new RootCommand("hardfocus: train GPT and LLaMA-family decoders in managed code with hard-sample reweighting (ERM, MidRanking, IR-DRO and variants).")
{
    TrainCommand.Create(), EvalCommand.Create(), GenerateCommand.Create(), ExportCommand.Create(), ExperimentCommand.Create(), DevicesCommand.Create(), MpiCheckCommand.Create(),
    ReportCommand.Create(),
};

// `hardfocus` alone runs the main job: `train` with its defaults.
var parsed = root.Parse(args.Length == 0 ? ["train"] : args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"error: {ErrorLine.OneLine(parsed.Errors[0].Message)} (see --help)");
    return 2;
}
try
{
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (ErrorLine.IsUserFacing(e))
{
    Console.Error.WriteLine($"error: {ErrorLine.Of(e)}");
    return 2;
}
