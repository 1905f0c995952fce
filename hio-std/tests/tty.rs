//! Linux ttys as UARTs: a pseudo-terminal pair carries bytes both ways
//! through the `embedded-io` traits, a SerialDoer on a tty parks until it
//! is readable, and opening a bad device says what to fix.

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use embedded_io::{Read, ReadReady, Write, WriteReady};
use hio_core::{Deck, Doist, End, SimClock, Tock};
use hio_embedded::{Frame, Lines, SerialStats};
use hio_std::reactor::{Reactor, NET_TOCK};
use hio_std::tty::{Device, Parity, Pty, StopBits, Tty, TtyConfig, TtyDoer, TtyError, TtyStatus};

/// Waits (in poll, bounded) until `tty` has a byte.
fn wait_readable(tty: &mut Tty, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if tty.read_ready().unwrap() {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut p = libc::pollfd {
            fd: tty.raw_fd().unwrap(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut p, 1, left.as_millis() as i32) };
    }
}

fn read_exactly(tty: &mut Tty, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            wait_readable(tty, Duration::from_secs(10)),
            "only {got:?} came"
        );
        let mut buf = [0u8; 256];
        let k = tty.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..k]);
    }
    got
}

#[test]
fn a_pty_pair_carries_every_byte_both_ways_unchanged() {
    let pty = Pty::open().unwrap();
    let mut device = Tty::open(pty.path(), TtyConfig::new(115_200)).unwrap();
    let mut board = pty.into_tty();
    // raw: no echo, no \n -> \r\n, no signals from ^C, every byte value
    let all: Vec<u8> = (0..=255u8)
        .chain(b"\r\n\x03\x04\x1a".iter().copied())
        .collect();
    assert!(board.write_ready().unwrap());
    let mut sent = 0;
    while sent < all.len() {
        sent += board.write(&all[sent..]).unwrap();
    }
    assert_eq!(read_exactly(&mut device, all.len()), all);
    let mut sent = 0;
    while sent < all.len() {
        sent += device.write(&all[sent..]).unwrap();
    }
    assert_eq!(read_exactly(&mut board, all.len()), all);
    // nothing else came (no echo)
    assert!(!device.read_ready().unwrap());
    assert!(device.read_empty());
}

#[test]
fn the_device_going_away_is_noticed_and_it_reads_nothing_more() {
    let pty = Pty::open().unwrap();
    let mut device = Tty::open(pty.path(), TtyConfig::default()).unwrap();
    let board = pty.into_tty();
    drop(board); // both ends of the board's side closed: unplugged
    assert!(!device.read_ready().unwrap());
    assert_eq!(device.lost(), Some(TtyError::Lost));
    assert!(!device.write_ready().unwrap());
    assert_eq!(device.write(b"x"), Err(TtyError::Lost));
    // its path is gone: reopening says so, and nothing spins
    assert_eq!(device.reopen(), Err(TtyError::NotFound));
}

#[test]
fn opening_a_bad_device_says_what_to_fix() {
    let e = Tty::open("/dev/hio-no-such-tty", TtyConfig::default()).unwrap_err();
    assert_eq!(e, TtyError::NotFound);
    assert!(e.to_string().contains("check the path"), "{e}");
    let e = Tty::open("/dev/null", TtyConfig::default()).unwrap_err();
    assert_eq!(e, TtyError::NotATty);
    assert!(e.to_string().contains("/dev/ttyUSB0"), "{e}");
    let pty = Pty::open().unwrap();
    let e = Tty::open(pty.path(), TtyConfig::new(12_345)).unwrap_err();
    assert_eq!(e, TtyError::Baud(12_345));
    assert!(e.to_string().contains("115200"), "{e}");
    assert!(TtyError::PermissionDenied.to_string().contains("dialout"));
    // every framing the command line takes opens
    for c in [
        TtyConfig::new(9600).parity(Parity::Even),
        TtyConfig::new(57_600)
            .parity(Parity::Odd)
            .stop_bits(StopBits::Two),
    ] {
        Tty::open(pty.path(), c).unwrap();
    }
    assert_eq!(
        "115200 8E2".parse::<TtyConfig>().unwrap().to_string(),
        "115200 8E2"
    );
    assert!("115200 7N1".parse::<TtyConfig>().is_err());
    assert!("fast".parse::<TtyConfig>().is_err());
}

/// The other end of the line: at 0.2 s of tyme it writes `ping` into the
/// pty; it takes the lines from the rx Deck and stops the run at `ping`.
struct Taker<'a> {
    rx: &'a Deck<Frame<64>, 4>,
    board: Tty,
    waker: hio_core::Waker,
    stop: &'static hio_core::StopFlag,
    got: Vec<Vec<u8>>,
    sent: bool,
}

impl hio_core::Doer for Taker<'_> {
    fn tock(&self) -> Tock {
        if self.sent {
            Tock::NEVER
        } else {
            Tock::from_millis(200)
        }
    }
    fn enter(&mut self, cx: &mut hio_core::Cx<'_>) -> Result<hio_core::Step, hio_core::Fault> {
        cx.attach(self.waker)
            .map_err(|_| hio_core::Fault::failed("no waker"))?;
        Ok(hio_core::Step::Continue)
    }
    fn recur(&mut self, cx: &mut hio_core::Cx<'_>) -> Result<hio_core::Step, hio_core::Fault> {
        // its tock becomes never once it has sent
        cx.retock();
        if !self.sent && cx.tyme() >= hio_core::Tyme::from_millis(200) {
            self.board.write(b"ping\n").unwrap();
            self.sent = true;
        }
        while let Some(line) = self.rx.pull() {
            if &line[..] == b"ping" {
                self.stop.stop();
            }
            self.got.push(line.to_vec());
        }
        Ok(hio_core::Step::Continue)
    }
}

/// A SerialDoer on a tty parks until the tty is readable: the tree sleeps
/// in the poll through 0.2 s of tyme (10 000 passes of its grid) with no
/// pass in between, and the line written then wakes it.
#[test]
fn a_serial_doer_on_a_tty_parks_until_the_tty_is_readable() {
    let pty = Pty::open().unwrap();
    let path = pty.path().to_path_buf();
    let board = pty.into_tty();
    let reactor = Reactor::new().unwrap();
    let (rx, tx) = (Deck::<Frame<64>, 4>::new(), Deck::<Frame<64>, 4>::new());
    let (stats, status) = (SerialStats::new(), TtyStatus::new());
    let device = Tty::open(&path, TtyConfig::default()).unwrap();
    let mut serial: TtyDoer<'_, Lines<64>, 64, 66> = TtyDoer::new(
        "serial",
        &reactor,
        device,
        Lines::new(),
        &rx,
        &tx,
        &stats,
        &status,
    )
    .unwrap();
    let mut taker = Taker {
        rx: &rx,
        board,
        waker: reactor.waker().unwrap(),
        stop: reactor.stop_flag(),
        got: Vec::new(),
        sent: false,
    };
    tx.wake_on_push(Some(serial.waker()));
    rx.wake_on_pull(Some(serial.waker()));
    rx.wake_on_push(Some(taker.waker));
    let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK)
        .unwrap()
        .with_limit(Tock::from_secs(30)); // a safety net only
    doist.wakes(reactor.board());
    doist.add(&mut serial).unwrap();
    doist.add(&mut taker).unwrap();
    let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
    assert_eq!(report.end, End::Stopped);
    assert_eq!(taker.got, vec![b"ping".to_vec()]);
    assert_eq!(stats.frames_in.get(), 1);
    let s = reactor.stats();
    assert!(
        s.sleeps <= 10,
        "a parked tty doer does not poll: the tree slept through 0.2 s: {s:?}"
    );
}

/// What a tty doer gathers before it writes to its device.
const WRITE_BUFFER: usize = 16 * 1024;

/// A device that never has bytes to read, and takes a buffer's worth
/// given to it in turns: a third of it, then all of it, and so on (less
/// it takes whole); `took` is everything it took.
struct Halting {
    took: Rc<RefCell<Vec<u8>>>,
    fulls: usize,
}

impl embedded_io::ErrorType for Halting {
    type Error = TtyError;
}

impl Read for Halting {
    fn read(&mut self, _: &mut [u8]) -> Result<usize, TtyError> {
        Ok(0)
    }
}

impl ReadReady for Halting {
    fn read_ready(&mut self) -> Result<bool, TtyError> {
        Ok(false)
    }
}

impl Write for Halting {
    fn write(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        self.write_now(bytes)
    }
    fn flush(&mut self) -> Result<(), TtyError> {
        Ok(())
    }
}

impl WriteReady for Halting {
    fn write_ready(&mut self) -> Result<bool, TtyError> {
        Ok(true)
    }
}

impl Device for Halting {
    fn raw_fd(&self) -> Option<RawFd> {
        None
    }
    fn lost(&self) -> Option<TtyError> {
        None
    }
    fn close(&mut self) {}
    fn reopen(&mut self) -> Result<(), TtyError> {
        Ok(())
    }
    fn clear_flags(&mut self) {}
    fn read_empty(&self) -> bool {
        true
    }
    fn label(&self) -> Option<String> {
        None
    }
    fn write_now(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        // a full buffer's worth: a third of it, then all of it next time
        // (it has no descriptor: room it made could not be announced, so
        // it takes less only where it takes all right after)
        if bytes.len() >= WRITE_BUFFER {
            self.fulls += 1;
        }
        let n = if bytes.len() >= WRITE_BUFFER && self.fulls % 2 == 1 {
            bytes.len() / 3
        } else {
            bytes.len()
        };
        self.took.borrow_mut().extend_from_slice(&bytes[..n]);
        Ok(n)
    }
}

/// Stops the run once `took` holds `want` lines (it looks every 1 ms).
struct Counter {
    took: Rc<RefCell<Vec<u8>>>,
    want: usize,
    stop: &'static hio_core::StopFlag,
}

impl hio_core::Doer for Counter {
    fn tock(&self) -> Tock {
        Tock::from_millis(1)
    }
    fn recur(&mut self, _: &mut hio_core::Cx<'_>) -> Result<hio_core::Step, hio_core::Fault> {
        if self.took.borrow().iter().filter(|&&b| b == b'\n').count() >= self.want {
            self.stop.stop();
        }
        Ok(hio_core::Step::Continue)
    }
}

/// Frames waiting in the tx Deck, more than the doer's write buffer holds
/// (16 KiB), all reach the device, though nothing is pushed after them (so
/// no push wakes the doer). Within one recur the device refuses bytes,
/// then takes all it is given: the doer must not park with a frame half
/// sent and nothing left for the poll to announce (it did, and the rest
/// stayed in the Deck for good: a client held back behind a full Deck
/// then waited for ever).
#[test]
fn a_refusal_then_room_within_one_recur_leaves_no_frame_behind() {
    const FRAMES: usize = 48;
    let reactor = Reactor::new().unwrap();
    let rx = Deck::<Frame<1024>, 4>::new();
    let tx = Deck::<Frame<1024>, FRAMES>::new();
    let mut sent = Vec::new();
    for i in 0..FRAMES {
        let line = format!("{i:04} {}", "x".repeat(1000));
        sent.extend_from_slice(line.as_bytes());
        sent.push(b'\n');
        let mut f = Frame::<1024>::new();
        f.extend_from_slice(line.as_bytes()).unwrap();
        assert!(tx.push(f).is_ok());
    }
    let took = Rc::new(RefCell::new(Vec::new()));
    let device = Halting {
        took: took.clone(),
        fulls: 0,
    };
    let (stats, status) = (SerialStats::new(), TtyStatus::new());
    let mut serial: TtyDoer<'_, Lines<1024>, 1024, 1026, Halting> = TtyDoer::new(
        "serial",
        &reactor,
        device,
        Lines::new(),
        &rx,
        &tx,
        &stats,
        &status,
    )
    .unwrap();
    tx.wake_on_push(Some(serial.waker()));
    rx.wake_on_pull(Some(serial.waker()));
    let mut counter = Counter {
        took: took.clone(),
        want: FRAMES,
        stop: reactor.stop_flag(),
    };
    let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK).unwrap().with_limit(Tock::from_secs(1));
    doist.wakes(reactor.board());
    doist.add(&mut serial).unwrap();
    doist.add(&mut counter).unwrap();
    let report = doist.run(&mut SimClock::new(), Some(reactor.stop_flag()));
    let lines = took.borrow().iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        report.end,
        End::Stopped,
        "{lines} of {FRAMES} lines arrived"
    );
    assert_eq!(*took.borrow(), sent);
    assert_eq!(stats.frames_out.get(), FRAMES as u32);
}
