//! The `wavault` binary: parse the command line, load settings, run.
use std::process::ExitCode;

fn main() -> ExitCode {
    wavault::cli::main()
}
