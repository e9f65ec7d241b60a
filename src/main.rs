//! The `snnc` command line: the only place where errors are rendered.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use snnc::cmd;

/// snnc: compile spiking-neural-network specs (.snn) for SpiNNaker2, and train
/// them with EventProp.
#[derive(Parser, Debug)]
#[command(name = "snnc", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a .snn file and print a summary of the network, or its diagnostics.
    Check(cmd::check::CheckArgs),
    /// Print the network of a .snn file as a Graphviz DOT graph.
    Graph(cmd::check::GraphArgs),
    /// Train the network of a .snn file.
    Train(cmd::train::TrainArgs),
    /// Compute the mean loss gradient over some samples, for given weights.
    Grad(cmd::train::GradArgs),
    /// Time one training epoch on 1 and 2 threads; report samples/s and peak memory.
    Bench(cmd::train::BenchArgs),
    /// Compare discrete EventProp gradients with an exact continuous-time model.
    Gradcheck(cmd::train::GradcheckArgs),
    /// Train a spec for every point of a search space (--set or its `sweep` block), here or on Slurm.
    Sweep(cmd::sweep::SweepArgs),
    /// Map a .snn file onto SpiNNaker2 and print the placement report.
    Place(cmd::place::PlaceArgs),
    /// Compile a .snn file to a SpiNNaker2 program directory (per-PE kernels, routing, data).
    Build(cmd::build::BuildArgs),
    /// Train a program directory written by `snnc build` in the emulator.
    Run(cmd::build::RunArgs),
    /// Write C sources for the chip: per-PE firmware of a .snn network (templates, PE data, routing, Makefile), or one kernel (.kir).
    Emit(cmd::emit::EmitArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::run_guarded(move || match cli.command {
        Command::Check(a) => cmd::check::check(a),
        Command::Graph(a) => cmd::check::graph(a),
        Command::Train(a) => cmd::train::train(a),
        Command::Grad(a) => cmd::train::grad(a),
        Command::Bench(a) => cmd::train::bench(a),
        Command::Gradcheck(a) => cmd::train::gradcheck(a),
        Command::Sweep(a) => cmd::sweep::sweep(a),
        Command::Place(a) => cmd::place::place(a),
        Command::Build(a) => cmd::build::build(a),
        Command::Run(a) => cmd::build::run(a),
        Command::Emit(a) => cmd::emit::emit(a),
    })
}
