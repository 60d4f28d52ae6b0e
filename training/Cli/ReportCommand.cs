using System.CommandLine;
using HardFocus.Training.Plots;

namespace HardFocus.Training.Cli;

public static class ReportCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("RUN_DIR") { Description = "Run folder holding metrics.jsonl (and samples.jsonl)." };
        var output = new Option<string?>("--out") { Description = "Folder for the PNG files (default: the run folder)." };
        var command = new Command("report",
            $"Draw a run's plots: {RunReport.LossPlot} (loss per step, validation loss), {RunReport.WeightsPlot} (effective sample size, " +
            $"largest weight, share of non-zero weights) and {RunReport.HistogramPlot} (per-sample losses early and late).") { run, output };
        command.SetAction(parse =>
        {
            string dir = parse.GetValue(run)!;
            if (!Directory.Exists(dir)) throw new UserError($"{dir}: no such run folder.");
            var folder = new RunFolder(dir);
            if (!File.Exists(folder.File(RunFolder.MetricsFile)))
                throw new UserError($"{dir} has no {RunFolder.MetricsFile}: not a run folder, or the run has not logged a step yet.");
            foreach (string path in RunReport.Write(folder, parse.GetValue(output) ?? folder.Path))
                Console.WriteLine(path);
            return 0;
        });
        return command;
    }
}
