//! `hio demo`: the main job, on a machine with no hardware. A simulated
//! board (the firmware's doer tree — hio-embedded's SerialDoer, Console and
//! Heartbeat — compiled for the host) talks on one end of a
//! pseudo-terminal pair; the serial-to-network [bridge](crate::bridge)
//! opens the other end as its serial device and listens on a local TCP
//! port; a client connects and holds a scripted conversation with the
//! board: `echo hello`, `tyme`, `stats`, and, when the demo's time is up,
//! `quit`. Everything is one doer tree on one reactor, in real time:
//!
//! ```text
//!  board    [uart: TtyDoer on the pty's master] <-> [console] , [heartbeat]
//!              | pty
//!  bridge   [serial: TtyDoer on /dev/pts/N] <-> [hub] <-> [server]
//!                                                            | TCP 127.0.0.1
//!  client   [client: ClientDoer] <-> [script]
//! ```
//!
//! It prints every line the client sends and receives as it happens, with
//! the round trip of each reply, the lifecycle of every doer (enter, cease,
//! exit), and the counters at the end.

mod qemu;
mod script;

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hio_core::{Context, Deck, DoDoer, Doist, End, Observer, Report, StopFlag, Tock, Tyme};
use hio_embedded::{Console, Frame, Heartbeat, Lines, SerialStats};

pub use qemu::{build_firmware, firmware_dir, QemuBoard};
pub use script::{Conversation, COMMANDS};

use crate::bridge::{with_bridge, BridgeConfig, WireLog, TRACED};
use crate::net::{Client, ClientConfig, ClientDoer};
use crate::reactor::{Reactor, NET_TOCK};
use crate::tty::{Pty, Tty, TtyDoer, TtyStatus};

/// The board's longest line, as on the firmware.
const LINE: usize = 128;
/// The board's Decks.
type BoardDeck = Deck<Frame<LINE>, 4>;

/// What a demo run gives back.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// How the tree's run ended.
    pub report: Report,
    /// How the conversation went.
    pub conversation: Conversation,
}

impl DemoReport {
    /// Whether the demo did its job: the conversation finished (or, run
    /// until stopped, it was stopped with nothing failed) and no doer
    /// faulted.
    pub fn ok(&self) -> bool {
        !matches!(self.report.end, End::Fault(_)) && self.conversation.failure.is_none()
    }
}

/// Prints the lifecycle contexts other than recur (but the remoter's).
struct Lifecycle<'a, 'w> {
    out: &'a RefCell<&'w mut dyn Write>,
    /// The bridge's wire log: the trace of its hub and device doer goes
    /// there too, for `hio replay`.
    wire: Option<&'a RefCell<WireLog>>,
}

impl Observer for Lifecycle<'_, '_> {
    fn event(&self, doer: &str, context: Context, tyme: Tyme) {
        if let Some(w) = self.wire.filter(|_| TRACED.contains(&doer)) {
            if let Ok(mut w) = w.try_borrow_mut() {
                w.trace(tyme, doer, context.as_str());
            }
        }
        if context != Context::Recur && doer != "remoter" {
            if let Ok(mut out) = self.out.try_borrow_mut() {
                let _ = writeln!(out, "[{tyme}] {doer}: {context}");
            }
        }
    }
}

fn other<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

/// Which board the demo talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Board {
    /// The firmware's doer tree compiled for the host, on a pty.
    Simulated,
    /// The real firmware image on QEMU, its UART0 on a pty.
    Qemu(PathBuf),
}

/// Runs the demo on `reactor` in real time, writing to `out`: the
/// conversation's `quit` goes at `seconds` of tyme, and the run stops
/// after its `bye`; with `seconds` 0 the demo never quits, and runs until
/// the reactor's stop flag (Ctrl-C, SIGTERM) stops it. `wirelog` records
/// the bridge's frames. `board` is the simulated board, or QEMU running the
/// firmware (which exits with status 0 after `quit`).
///
/// # Errors
///
/// No pseudo-terminal, no local port, QEMU could not start, or `out`
/// failed.
pub fn run(
    out: &mut dyn Write,
    reactor: &Reactor,
    seconds: u64,
    wirelog: Option<PathBuf>,
    board: Board,
) -> io::Result<DemoReport> {
    match board {
        Board::Simulated => {
            let pty = Pty::open().map_err(other)?;
            let path = pty.path().to_path_buf();
            writeln!(
                out,
                "hio demo: a simulated board on {} (SerialDoer + Console + Heartbeat), bridged to TCP; a client talks to it{}",
                path.display(),
                plan(seconds)
            )?;
            run_tree(out, reactor, seconds, wirelog, &path, Some(pty.into_tty()))
        }
        Board::Qemu(image) => {
            let mut qemu = QemuBoard::start(&image)?;
            writeln!(
                out,
                "hio demo: the firmware {} on QEMU, UART0 on {}, bridged to TCP; a client talks to it{}",
                image.display(),
                qemu.path().display(),
                plan(seconds)
            )?;
            let path = qemu.path().to_path_buf();
            let r = run_tree(out, reactor, seconds, wirelog, &path, None)?;
            if r.conversation.finished {
                match qemu.wait(Duration::from_secs(10)) {
                    Some(status) => writeln!(out, "qemu: the firmware ended: {status}")?,
                    None => writeln!(out, "qemu: the firmware did not end after `quit`")?,
                }
            }
            Ok(r)
        }
    }
}

fn plan(seconds: u64) -> String {
    if seconds == 0 {
        "; running until Ctrl-C or SIGTERM".to_string()
    } else {
        format!("; `quit` at {seconds} s")
    }
}

/// The tree: the simulated board on `board_tty` (if any), the bridge on
/// `path`, the client.
fn run_tree(
    out: &mut dyn Write,
    reactor: &Reactor,
    seconds: u64,
    wirelog: Option<PathBuf>,
    path: &Path,
    board_tty: Option<Tty>,
) -> io::Result<DemoReport> {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let out = RefCell::new(out);
    // the board
    let board_stats = SerialStats::new();
    let board_status = TtyStatus::new();
    let board_stop = StopFlag::new();
    let (brx, btx) = (BoardDeck::new(), BoardDeck::new());
    let simulated = board_tty.is_some();
    let mut uart: Option<TtyDoer<'_, Lines<LINE>, LINE, { LINE + 2 }>> = match board_tty {
        Some(tty) => Some(
            TtyDoer::new(
                "uart",
                reactor,
                tty,
                Lines::new(),
                &brx,
                &btx,
                &board_stats,
                &board_status,
            )
            .map_err(other)?,
        ),
        None => None,
    };
    let cw = reactor.waker().map_err(other)?;
    if let Some(u) = uart.as_ref() {
        btx.wake_on_push(Some(u.waker()));
        brx.wake_on_pull(Some(u.waker()));
    }
    brx.wake_on_push(Some(cw));
    btx.wake_on_pull(Some(cw));
    let mut console = Console::new(&brx, &btx, &board_stats, &board_stop).with_waker(cw);
    let mut heartbeat = Heartbeat::new(&btx);
    let config = BridgeConfig::new(path, listen)
        .max_clients(4)
        .wirelog(wirelog);
    let conversation = RefCell::new(Conversation::default());
    let ran = with_bridge(reactor, &config, |b| -> io::Result<Report> {
        {
            let mut o = out.borrow_mut();
            writeln!(o, "bridge: {} <-> {}", path.display(), b.local)?;
        }
        let client = Client::new(reactor, b.local, ClientConfig::default());
        let mut tcp = ClientDoer::new(&client).map_err(other)?;
        let mut script = script::Script {
            client: &client,
            reactor,
            waker: reactor.waker().map_err(other)?,
            out: &out,
            stop: reactor.stop_flag(),
            quit_at: (seconds > 0).then(|| Tyme::ZERO + Tock::from_secs(seconds)),
            next: 0,
            waiting: None,
            line: Vec::new(),
            tock: Tock::NEVER,
            result: &conversation,
            connected: false,
            // a real board's UART may lose bytes until it is up: its
            // first beat through the bridge says it is
            wait_beat: !simulated,
        };
        let refused = |_| io::Error::other("the demo tree is larger than its capacity");
        let mut board: DoDoer<'_, 3> = DoDoer::new("board").lazy(true);
        if let Some(u) = uart.as_mut() {
            board.add(u).map_err(refused)?;
            board.add(&mut console).map_err(refused)?;
            board.add(&mut heartbeat).map_err(refused)?;
        }
        let mut bridge: DoDoer<'_, 3> = DoDoer::new("bridge").lazy(true);
        bridge.add(b.server).map_err(refused)?;
        bridge.add(b.hub).map_err(refused)?;
        bridge.add(b.serial).map_err(refused)?;
        let mut user: DoDoer<'_, 2> = DoDoer::new("user").lazy(true);
        user.add(&mut tcp).map_err(refused)?;
        user.add(&mut script).map_err(refused)?;
        let observer = Lifecycle {
            out: &out,
            wire: b.wirelog,
        };
        let mut doist: Doist<'_, 3> = Doist::new(NET_TOCK).map_err(other)?;
        doist.wakes(reactor.board());
        doist.observe(&observer);
        if simulated {
            doist.add(&mut board).map_err(refused)?;
        }
        doist.add(&mut bridge).map_err(refused)?;
        doist.add(&mut user).map_err(refused)?;
        let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
        if let Some(w) = b.wirelog {
            w.borrow_mut().end(report.tyme, report.end.as_str());
            w.borrow_mut().flush();
        }
        let mut o = out.borrow_mut();
        writeln!(o, "{}", conversation.borrow().summary())?;
        writeln!(o, "bridge: {}", b.stats)?;
        writeln!(o, "bridge serial: {}", b.serial_stats)?;
        if simulated {
            writeln!(o, "board serial: {board_stats}")?;
        }
        match report.end {
            End::Fault(f) => writeln!(o, "[{}] end: fault: {f}", report.tyme)?,
            e => writeln!(o, "[{}] end: {}", report.tyme, e.as_str())?,
        }
        o.flush()?;
        Ok(report)
    })
    .map_err(other)??;
    Ok(DemoReport {
        report: ran,
        conversation: conversation.into_inner(),
    })
}
