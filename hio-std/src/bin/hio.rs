//! The `hio` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hio_std::{demo, scenario, StdClock};

#[derive(Parser)]
#[command(
    name = "hio",
    version,
    about = "hio: hierarchical structured concurrency with asynchronous I/O"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo flow in real time (no hardware needed).
    Demo {
        /// Seconds of tyme to run for.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Run a scenario (SEMANTICS.md schema) in simulated time and print its
    /// trace as JSON Lines.
    Trace {
        /// The scenario file.
        scenario: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { seconds } => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match demo::run(&mut out, &mut StdClock::new(), seconds, None) {
                Ok(r) if matches!(r.end, hio_core::End::Fault(_)) => ExitCode::from(1),
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hio demo: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Trace { scenario: path } => {
            let json = match std::fs::read_to_string(&path) {
                Ok(j) => j,
                Err(e) => {
                    eprintln!("hio trace: cannot read {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            };
            match scenario::trace_json(&json) {
                Ok(trace) => {
                    let mut out = std::io::stdout().lock();
                    if out
                        .write_all(trace.as_bytes())
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        return ExitCode::from(1);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("hio trace: {}: {e}", path.display());
                    ExitCode::from(2)
                }
            }
        }
    }
}
