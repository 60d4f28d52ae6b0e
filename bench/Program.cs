using BenchmarkDotNet.Running;
BenchmarkSwitcher.FromAssembly(typeof(HardFocus.Bench.KernelBenchmarks).Assembly).Run(args);
