//! The `hio` command line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Parser, Subcommand};
use hio_std::net::{tool, PeerConfig, ServerConfig};
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
    /// Run a TCP echo server until Ctrl-C or SIGTERM.
    #[command(
        after_help = "Example:\n  hio echo --listen 127.0.0.1:7000 --max-conns 100 --idle-timeout 30\n\n\
        Prints `listening on IP:PORT` once it accepts (port 0 picks a free port)."
    )]
    Echo {
        /// Address to listen on, IP:PORT (IPv6 in brackets, e.g. `[::1]:7000`).
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        listen: SocketAddr,
        /// Connections served at once; more are accepted and closed at once.
        #[arg(long, value_name = "N", default_value_t = 1024,
              value_parser = clap::value_parser!(u64).range(1..=tool::MAX_CONNS as u64))]
        max_conns: u64,
        /// Close a connection after this many seconds without traffic.
        #[arg(long, value_name = "SECS", value_parser = parse_secs)]
        idle_timeout: Option<Duration>,
    },
    /// Send each line of standard input and print each reply line.
    #[command(
        group(ArgGroup::new("to").required(true).args(["connect", "udp"])),
        after_help = "Examples:\n  printf 'hello\\nworld\\n' | hio send --connect 127.0.0.1:7000\n  \
            echo ping | hio send --udp [::1]:7001\n\n\
            Exits 0 after the last reply, 1 with a message if the connection fails."
    )]
    Send {
        /// TCP server to connect to, IP:PORT.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        connect: Option<SocketAddr>,
        /// UDP peer to send datagrams to, IP:PORT (one per line, each
        /// answered before the next).
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        udp: Option<SocketAddr>,
        /// Give up after this many seconds without a reply (or a connect).
        #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
        timeout: Duration,
    },
    /// Run a UDP echo peer until Ctrl-C or SIGTERM.
    #[command(after_help = "Example:\n  hio udp-echo --bind 127.0.0.1:7001\n\n\
        Prints `listening on IP:PORT` once it is bound (port 0 picks a free port).")]
    UdpEcho {
        /// Address to bind, IP:PORT (IPv6 in brackets, e.g. `[::1]:7001`).
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        bind: SocketAddr,
    },
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    hio_std::net::parse_addr(s).map_err(|_| {
        format!("`{s}` is not an address: give IP:PORT, e.g. 127.0.0.1:7000 or [::1]:7000")
    })
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("`{s}` is not a number of seconds greater than 0")),
    }
}

/// Prints the ready line, flushed.
fn ready_line(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
}

fn net_result<T>(what: &str, r: Result<T, tool::ToolError>) -> ExitCode {
    match r {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hio {what}: {e}");
            ExitCode::from(1)
        }
    }
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
        Command::Echo {
            listen,
            max_conns,
            idle_timeout,
        } => {
            let config = ServerConfig::default()
                .max_conns(max_conns as usize)
                .idle_timeout(idle_timeout);
            let r = tool::echo(listen, config, true, &mut |addr, _| ready_line(addr));
            net_result("echo", r)
        }
        Command::UdpEcho { bind } => {
            let r = tool::udp_echo(bind, PeerConfig::default(), true, &mut |addr, _| {
                ready_line(addr)
            });
            net_result("udp-echo", r)
        }
        Command::Send {
            connect,
            udp,
            timeout,
        } => {
            let input = Box::new(std::io::BufReader::new(std::io::stdin()));
            let mut out = std::io::stdout();
            let r = match (connect, udp) {
                (Some(addr), _) => tool::send(addr, input, &mut out, timeout, true),
                (None, Some(addr)) => tool::send_udp(addr, input, &mut out, timeout, true),
                (None, None) => Ok(()),
            };
            net_result("send", r)
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
