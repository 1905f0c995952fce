//! The `hio` command line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use hio_std::net::{tls, tool, PeerConfig, ServerConfig};
use hio_std::reactor::Reactor;
use hio_std::{demo, logger, scenario};

#[derive(Parser)]
#[command(
    name = "hio",
    version,
    about = "hio: hierarchical structured concurrency with asynchronous I/O"
)]
struct Cli {
    /// More log lines on stderr (-v: debug, -vv: trace); the default is
    /// warnings and errors.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No log lines but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the main job with no hardware: a simulated board on a
    /// pseudo-terminal, bridged to TCP, and a client talking to it.
    #[command(
        after_help = "Examples:\n  hio demo                 # `quit` at 3 s of tyme, then the run stops\n  \
        hio demo --seconds 0     # never quit: heartbeats until Ctrl-C or SIGTERM\n  \
        hio demo --qemu          # the real firmware on QEMU instead of the simulated board\n\n\
        The client sends `echo hello`, `tyme` and `stats` at once and `quit` at --seconds; \
        every line out and in is shown as it happens, with each reply's round trip, and the counters at the end. \
        Ctrl-C or SIGTERM stops it at any time: every doer ceases and exits, and the run ends `stopped`. \
        Exits 0 when the conversation went through (or was stopped by a signal with nothing failed)."
    )]
    Demo {
        /// Seconds of tyme before the client says `quit`; 0 never quits
        /// (runs until Ctrl-C or SIGTERM).
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        /// Record every frame through the bridge, with tyme and direction
        /// (JSON Lines).
        #[arg(long, value_name = "FILE")]
        wirelog: Option<PathBuf>,
        /// Talk to the real firmware (examples/firmware's serial-flow,
        /// built first) on QEMU's lm3s6965evb instead of the simulated
        /// board; needs qemu-system-arm and the thumbv7m-none-eabi target.
        #[arg(long)]
        qemu: bool,
    },
    /// Bridge a serial device to TCP: device frames to every client,
    /// client frames to the device.
    #[command(
        after_help = "Examples:\n  hio bridge --serial /dev/ttyUSB0 --baud 115200 --listen 127.0.0.1:7000\n  \
        hio bridge --serial /dev/ttyACM0 --listen 0.0.0.0:7443 --tls-cert server.pem --tls-key server-key.pem\n\n\
        Prints `listening on IP:PORT` once it accepts (port 0 picks a free port); --tls-cert and --tls-key \
        serve the clients over TLS (hio cert makes a set). Frames are lines \
        (`--framing cobs`: COBS with a CRC-16, binary). A client that falls more than --client-queue \
        bytes behind is dropped with a log line; a device that goes away is reported and reopened \
        when it is back, and the clients stay connected. Runs until Ctrl-C or SIGTERM."
    )]
    Bridge {
        /// The serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...
        #[arg(long, value_name = "DEV")]
        serial: PathBuf,
        /// Its baud rate.
        #[arg(long, value_name = "N", default_value_t = 115_200)]
        baud: u32,
        /// Its parity: none, even or odd.
        #[arg(long, default_value = "none", value_parser = ["none", "even", "odd"])]
        parity: String,
        /// Its stop bits: 1 or 2.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
        stop_bits: u8,
        /// Address to listen on, IP:PORT.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        listen: SocketAddr,
        /// How frames are cut: lines or cobs.
        #[arg(long, default_value = "lines", value_parser = ["lines", "cobs"])]
        framing: String,
        /// Clients served at once.
        #[arg(long, value_name = "N", default_value_t = 64,
              value_parser = clap::value_parser!(u64).range(1..=hio_std::bridge::MAX_CLIENTS as u64))]
        max_clients: u64,
        /// Bytes a client may fall behind before it is dropped.
        #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
        client_queue: usize,
        /// Record every frame in and out, with tyme and direction (JSON
        /// Lines), and what `hio replay FILE` needs to rerun the bridge.
        #[arg(long, value_name = "FILE")]
        wirelog: Option<PathBuf>,
        #[command(flatten)]
        tls: ServerTlsArgs,
    },
    /// Rerun a bridge's doers in simulated time against its wire log and
    /// print their trace (JSON Lines), which is the live run's.
    #[command(
        after_help = "Example:\n  hio bridge --serial /dev/ttyUSB0 --listen 127.0.0.1:7000 --wirelog wire.jsonl\n  \
        hio replay wire.jsonl\n\n\
        Exits 0 when the replay's trace is the live run's, 1 with the first difference when it is not, \
        2 when the file is not a whole wire log of `hio bridge --wirelog`."
    )]
    Replay {
        /// The wire log.
        wirelog: PathBuf,
    },
    /// Run a scenario (SEMANTICS.md schema) in simulated time and print its
    /// trace as JSON Lines.
    #[command(
        after_help = "Example:\n  hio trace tests/conformance/nested_dodoers.json\n\n\
        The trace streams as the run goes. A scenario that has not ended after \
        1000000 passes (no limit, and a doer that never finishes) is stopped there: \
        exit status 2 and a message. A malformed scenario exits 2 before anything runs."
    )]
    Trace {
        /// The scenario file.
        scenario: PathBuf,
    },
    /// Run a TCP echo server until Ctrl-C or SIGTERM (TLS with --tls-cert).
    #[command(
        after_help = "Examples:\n  hio echo --listen 127.0.0.1:7000 --max-conns 100 --idle-timeout 30\n  \
        hio cert --out /tmp/c\n  \
        hio echo --listen 127.0.0.1:7443 --tls-cert /tmp/c/server.pem --tls-key /tmp/c/server-key.pem\n  \
        hio echo --listen 127.0.0.1:7443 --tls-cert /tmp/c/server.pem --tls-key /tmp/c/server-key.pem \\\n      \
        --tls-client-ca /tmp/c/ca.pem    # mutual TLS\n  \
        hio echo --listen 127.0.0.1:7443 --tls-cert /tmp/c/server.pem --tls-key /tmp/c/server-key.pem \\\n      \
        --tls-version 1.3 --tls-alpn h2,http/1.1 --tls-handshake-timeout 5\n\n\
        Prints `listening on IP:PORT` once it accepts (port 0 picks a free port). \
        A certificate or key file that cannot be read or used exits 2 with a message."
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
        #[command(flatten)]
        tls: ServerTlsArgs,
    },
    /// Write a CA and a server certificate for localhost and 127.0.0.1
    /// signed by it: ca.pem, ca-key.pem, server.pem, server-key.pem.
    #[command(after_help = "Example (TLS in three commands):\n  \
        hio cert --out /tmp/c\n  \
        hio echo --listen 127.0.0.1:7443 --tls-cert /tmp/c/server.pem --tls-key /tmp/c/server-key.pem\n  \
        echo hi | hio send --connect 127.0.0.1:7443 --tls-ca /tmp/c/ca.pem --server-name localhost\n\n\
        With --client, client.pem and client-key.pem too, for mutual TLS \
        (hio echo --tls-client-ca ca.pem, hio send --tls-cert client.pem --tls-key client-key.pem).\n\n\
        Keys are written readable by their owner only. For tests and private use: \
        anyone holding ca-key.pem can make certificates your clients trust.")]
    Cert {
        /// The folder to write into (made if missing).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// Write a client certificate signed by the CA too.
        #[arg(long)]
        client: bool,
    },
    /// Send each line of standard input and print each reply line.
    #[command(
        group(ArgGroup::new("to").required(true).args(["connect", "udp"])),
        after_help = "Examples:\n  printf 'hello\\nworld\\n' | hio send --connect 127.0.0.1:7000\n  \
            echo ping | hio send --udp [::1]:7001\n  \
            echo hi | hio send --connect 127.0.0.1:7443 --tls-ca /tmp/c/ca.pem --server-name localhost\n  \
            echo hi | hio send --connect 127.0.0.1:7443 --tls-ca /tmp/c/ca.pem --server-name localhost \\\n      \
            --tls-cert client.pem --tls-key client-key.pem    # mutual TLS\n\n\
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
        /// Speak TLS, trusting the CA certificates in this PEM file.
        #[arg(long, value_name = "FILE", requires = "connect")]
        tls_ca: Option<PathBuf>,
        /// The name the server's certificate must hold (default: its IP
        /// address).
        #[arg(long, value_name = "NAME", requires = "tls_ca")]
        server_name: Option<String>,
        /// A client certificate chain, PEM, for servers that ask (mutual
        /// TLS).
        #[arg(long, value_name = "FILE", requires_all = ["tls_ca", "tls_key"])]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert, PEM.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        tuning: TlsTuning,
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

/// TLS settings shared by the servers and the client (used with the
/// other `--tls-*` options; the defaults suit most peers).
#[derive(Args, Debug, Clone)]
struct TlsTuning {
    /// Offer these ALPN protocols, most preferred first (comma separated
    /// or repeated, e.g. `--tls-alpn h2,http/1.1`). Default: none.
    #[arg(long, value_name = "PROTO", value_delimiter = ',', value_parser = parse_alpn)]
    tls_alpn: Vec<String>,
    /// Speak only this TLS version. Default: 1.3 and 1.2.
    #[arg(long, value_name = "VERSION")]
    tls_version: Option<TlsVersionArg>,
    /// Close a connection whose handshake is not done within this many
    /// seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    tls_handshake_timeout: Duration,
}

/// `--tls-version`.
#[derive(ValueEnum, Debug, Clone, Copy)]
enum TlsVersionArg {
    /// TLS 1.2 only.
    #[value(name = "1.2")]
    V12,
    /// TLS 1.3 only.
    #[value(name = "1.3")]
    V13,
}

impl TlsTuning {
    fn versions(&self) -> tls::TlsVersions {
        match self.tls_version {
            None => tls::TlsVersions::Both,
            Some(TlsVersionArg::V12) => tls::TlsVersions::Tls12,
            Some(TlsVersionArg::V13) => tls::TlsVersions::Tls13,
        }
    }

    /// Whether any of them was given (they need TLS).
    fn given(&self) -> bool {
        !self.tls_alpn.is_empty()
            || self.tls_version.is_some()
            || self.tls_handshake_timeout != tls::HANDSHAKE_TIMEOUT
    }

    /// A message if they were given without TLS.
    fn check(&self, tool: &str, tls_option: &str) -> Result<(), ExitCode> {
        if self.given() {
            eprintln!(
                "hio {tool}: --tls-alpn, --tls-version and --tls-handshake-timeout need {tls_option}"
            );
            return Err(ExitCode::from(2));
        }
        Ok(())
    }

    fn alpn(&self) -> Vec<&[u8]> {
        self.tls_alpn.iter().map(|p| p.as_bytes()).collect()
    }

    fn apply_server(&self, b: tls::ServerTlsBuilder) -> tls::ServerTlsBuilder {
        b.alpn(&self.alpn())
            .versions(self.versions())
            .handshake_timeout(self.tls_handshake_timeout)
    }

    fn apply_client(&self, b: tls::ClientTlsBuilder) -> tls::ClientTlsBuilder {
        b.alpn(&self.alpn())
            .versions(self.versions())
            .handshake_timeout(self.tls_handshake_timeout)
    }
}

fn parse_alpn(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 255 {
        return Err(format!(
            "`{s}` is not an ALPN protocol name: give 1 to 255 bytes, e.g. h2 or http/1.1"
        ));
    }
    Ok(s.to_string())
}

/// The TLS options of a server (`hio echo`, `hio bridge`).
#[derive(Args, Debug, Clone)]
struct ServerTlsArgs {
    /// Speak TLS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Ask clients for a certificate signed by a CA in this PEM file
    /// (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    #[command(flatten)]
    tuning: TlsTuning,
}

impl ServerTlsArgs {
    /// The server's TLS, if asked for; a message and exit status 2 for
    /// files that cannot be used or settings without TLS.
    fn build(&self, tool: &str) -> Result<Option<tls::ServerTls>, ExitCode> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            self.tuning.check(tool, "--tls-cert")?;
            return Ok(None);
        };
        let built = tls::ServerTls::from_pem_files(cert, key).and_then(|mut b| {
            if let Some(ca) = &self.tls_client_ca {
                b = b.client_ca_file(ca)?;
            }
            self.tuning.apply_server(b).build()
        });
        built.map(Some).map_err(|e| {
            eprintln!("hio {tool}: {e}");
            ExitCode::from(2)
        })
    }
}

fn client_tls(
    ca: &Path,
    server_name: Option<&str>,
    cert: Option<(&Path, &Path)>,
    tuning: &TlsTuning,
) -> Result<tls::ClientTls, tls::TlsError> {
    let mut b = tls::ClientTls::with_ca_file(ca)?;
    if let Some(n) = server_name {
        b = b.server_name(n)?;
    }
    if let Some((c, k)) = cert {
        b = b.client_cert_files(c, k)?;
    }
    tuning.apply_client(b).build()
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
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Warn,
        (false, 1) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    if let Err(e) = logger::init(level, logger::DEFAULT_CAPACITY) {
        eprintln!("hio: no logging: {e}");
    }
    let code = run(cli.command);
    // what was logged after the tree's log writer ended
    if let Some(l) = logger::installed() {
        l.flush_to(&mut std::io::stderr());
    }
    code
}

fn run(command: Command) -> ExitCode {
    match command {
        Command::Demo {
            seconds,
            wirelog,
            qemu,
        } => {
            let reactor = match Reactor::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("hio demo: cannot start the reactor: {e}");
                    return ExitCode::from(1);
                }
            };
            if let Err(e) = reactor.stop_on_signals() {
                eprintln!("hio demo: cannot catch Ctrl-C: {e}");
                return ExitCode::from(1);
            }
            let board = if qemu {
                eprintln!(
                    "hio demo: building the firmware in {}",
                    demo::firmware_dir().display()
                );
                match demo::build_firmware() {
                    Ok(image) => demo::Board::Qemu(image),
                    Err(e) => {
                        eprintln!("hio demo: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                demo::Board::Simulated
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match demo::run(&mut out, &reactor, seconds, wirelog, board) {
                Ok(r) if r.ok() => ExitCode::SUCCESS,
                Ok(_) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("hio demo: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Bridge {
            serial,
            baud,
            parity,
            stop_bits,
            listen,
            framing,
            max_clients,
            client_queue,
            wirelog,
            tls,
        } => {
            use hio_std::bridge::{BridgeConfig, Framing};
            let tls = match tls.build("bridge") {
                Ok(t) => t,
                Err(code) => return code,
            };
            use hio_std::tty::{Parity, StopBits, TtyConfig};
            let parity = match parity.as_str() {
                "even" => Parity::Even,
                "odd" => Parity::Odd,
                _ => Parity::None,
            };
            let stop_bits = if stop_bits == 2 {
                StopBits::Two
            } else {
                StopBits::One
            };
            let framing = if framing == "cobs" {
                Framing::Cobs
            } else {
                Framing::Lines
            };
            let config = BridgeConfig::new(serial, listen)
                .tty_config(TtyConfig::new(baud).parity(parity).stop_bits(stop_bits))
                .framing(framing)
                .max_clients(max_clients as usize)
                .client_queue(client_queue)
                .wirelog(wirelog)
                .tls(tls);
            match hio_std::bridge::run(&config, true, &mut |addr, _| ready_line(addr)) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hio bridge: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Echo {
            listen,
            max_conns,
            idle_timeout,
            tls,
        } => {
            let config = ServerConfig::default()
                .max_conns(max_conns as usize)
                .idle_timeout(idle_timeout);
            let tls = match tls.build("echo") {
                Ok(t) => t,
                Err(code) => return code,
            };
            let r = tool::echo_with(listen, config, tls, true, &mut |addr, _| ready_line(addr));
            net_result("echo", r)
        }
        Command::Cert { out, client } => match tls::write_cert_set(&out, client) {
            Ok(paths) => {
                for p in paths {
                    println!("wrote {}", p.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hio cert: {e}");
                ExitCode::from(1)
            }
        },
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
            tls_ca,
            server_name,
            tls_cert,
            tls_key,
            tuning,
        } => {
            let tls = match tls_ca {
                Some(ca) => {
                    let cert = tls_cert.as_deref().zip(tls_key.as_deref());
                    match client_tls(&ca, server_name.as_deref(), cert, &tuning) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            eprintln!("hio send: {e}");
                            return ExitCode::from(2);
                        }
                    }
                }
                None => {
                    if let Err(code) = tuning.check("send", "--tls-ca") {
                        return code;
                    }
                    None
                }
            };
            let input = Box::new(std::io::BufReader::new(std::io::stdin()));
            let mut out = std::io::stdout();
            let r = match (connect, udp) {
                (Some(addr), _) => tool::send_with(addr, tls, input, &mut out, timeout, true),
                (None, Some(addr)) => tool::send_udp(addr, input, &mut out, timeout, true),
                (None, None) => Ok(()),
            };
            net_result("send", r)
        }
        Command::Replay { wirelog } => {
            let text = match std::fs::read_to_string(&wirelog) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("hio replay: cannot read {}: {e}", wirelog.display());
                    return ExitCode::from(2);
                }
            };
            match hio_std::bridge::replay(&text) {
                Ok(r) => {
                    print!("{}", r.replay);
                    let _ = std::io::stdout().flush();
                    if let Some(d) = r.diverged {
                        eprintln!("hio replay: {}: {d}", wirelog.display());
                        return ExitCode::from(1);
                    }
                    match hio_std::scenario::compare_traces(&r.live, &r.replay) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(d) => {
                            eprintln!(
                                "hio replay: {}: the replay's trace is not the live run's: {d}",
                                wirelog.display()
                            );
                            ExitCode::from(1)
                        }
                    }
                }
                Err(e) => {
                    eprintln!("hio replay: {}: {e}", wirelog.display());
                    ExitCode::from(2)
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
            let parsed = match scenario::parse(&json) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("hio trace: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let r = scenario::trace_to(&parsed, &mut out, scenario::MAX_PASSES);
            let _ = out.flush();
            match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(scenario::RunError::Write(e)) => {
                    eprintln!("hio trace: {e}");
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("hio trace: {}: {e}", path.display());
                    ExitCode::from(2)
                }
            }
        }
    }
}
