//! The `snnc` command line: the only place where errors are rendered.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use snnc::cmd;

/// snnc: compile spiking-neural-network specs (.snn) for SpiNNaker2, and train
/// them with EventProp.
#[derive(Parser, Debug)]
#[command(
    name = "snnc",
    version,
    about,
    long_about = None,
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = exit_codes_help()
)]
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
    /// Time one training epoch on 1 and 2 threads; report samples/s and peak memory (progress on stderr).
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
    /// Print the help of snnc or of one of its commands.
    Help {
        /// The command to explain (default: snnc itself).
        command: Option<String>,
    },
    /// Write C sources for the chip: per-PE firmware of a .snn network (templates, PE data, routing, Makefile), or one kernel (.kir).
    Emit(cmd::emit::EmitArgs),
    /// Write a NIR file (.nir) of a .snn network and its weights.
    Export(cmd::nir::ExportArgs),
    /// Write a .snn spec and a weights file from a NIR file (.nir).
    Import(cmd::nir::ImportArgs),
}

/// The exit-status table, for `snnc --help`.
fn exit_codes_help() -> String {
    let mut s = String::from("Exit status:");
    for (code, what) in cmd::EXIT_CODES {
        s += &format!("\n  {code:>2}  {what}");
    }
    s
}

/// `snnc help [COMMAND]`.
fn help(command: Option<&str>) -> cmd::CmdResult {
    use clap::CommandFactory;
    let mut cli = Cli::command();
    cli.build();
    let text = match command {
        None => cli.render_long_help(),
        Some(name) => match cli.find_subcommand_mut(name) {
            Some(sub) => sub.render_long_help(),
            None => {
                let names: Vec<String> = cli.get_subcommands().map(|s| s.get_name().to_string()).collect();
                return Err(cmd::Failure::rejected(format!(
                    "no command `{name}`; the commands are {}",
                    names.join(", ")
                )));
            }
        },
    };
    let mut out = cmd::Out::new();
    out.text(&text.to_string());
    out.finish()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; a usage
            // error is a rejected input (exit status 1). A closed stdout
            // or stderr is no reason to panic.
            let _ = e.print();
            let status = if e.use_stderr() { cmd::exit_code(snnc_compiler::ErrorClass::Rejected) } else { 0 };
            return ExitCode::from(status);
        }
    };
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
        Command::Export(a) => cmd::nir::export(a),
        Command::Import(a) => cmd::nir::import_cmd(a),
        Command::Help { command } => help(command.as_deref()),
    })
}
