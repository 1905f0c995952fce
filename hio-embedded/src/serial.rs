//! [`SerialDoer`]: the I/O doer at the edge of a serial flow.

use core::cell::Cell;
use core::fmt;

use embedded_io::{Read, ReadReady, Write, WriteReady};
use hio_core::{Cx, Doer, Fault, Pull, Push, Step, Tock, Waker};

use crate::error::SerialError;
use crate::framer::{FrameError, Framer};

/// A frame of at most `M` bytes, as it travels through Decks.
pub type Frame<const M: usize> = heapless::Vec<u8, M>;

/// Counters of a serial flow, shared by reference (a console can report
/// them). Every error a UART or a peer can cause is counted here; none
/// stops the flow.
#[derive(Debug, Default)]
pub struct SerialStats {
    /// Frames received and handed on.
    pub frames_in: Cell<u32>,
    /// Frames completely written.
    pub frames_out: Cell<u32>,
    /// Bytes read.
    pub bytes_in: Cell<u32>,
    /// Bytes written.
    pub bytes_out: Cell<u32>,
    /// UART overruns (bytes lost in the UART).
    pub overrun: Cell<u32>,
    /// UART framing errors (and breaks).
    pub framing: Cell<u32>,
    /// UART parity errors.
    pub parity: Cell<u32>,
    /// UART noise and other device errors.
    pub noise: Cell<u32>,
    /// Received frames longer than the buffer (dropped).
    pub overlong: Cell<u32>,
    /// Received frames that failed their CRC (dropped).
    pub crc: Cell<u32>,
    /// Received malformed frames (dropped).
    pub malformed: Cell<u32>,
    /// Frames to send that could not be encoded (dropped).
    pub unencodable: Cell<u32>,
    /// Recurs that stopped reading because the rx Deck was full
    /// (backpressure: the bytes stay in the UART).
    pub rx_full: Cell<u32>,
}

/// The enter of a doer that parks when given a waker: it takes the waker
/// on. One function for every such doer (a fault if the Doist does not
/// drain the waker's board: the doer would never be woken).
pub(crate) fn attach(cx: &mut Cx<'_>, waker: &Option<Waker>) -> Result<Step, Fault> {
    if let Some(w) = *waker {
        cx.attach(w)
            .map_err(|_| Fault::failed("its waker cannot be attached"))?;
    }
    Ok(Step::Continue)
}

/// How a doer's enter takes its waker on: [`attach`] once it has been
/// given one, else nothing to do.
type Enter = fn(&mut Cx<'_>, &Option<Waker>) -> Result<Step, Fault>;

/// The enter of a doer that was given no waker.
fn no_waker(_: &mut Cx<'_>, _: &Option<Waker>) -> Result<Step, Fault> {
    Ok(Step::Continue)
}

fn bump(c: &Cell<u32>) {
    c.set(c.get().wrapping_add(1));
}

impl SerialStats {
    /// All zero.
    pub const fn new() -> Self {
        SerialStats {
            frames_in: Cell::new(0),
            frames_out: Cell::new(0),
            bytes_in: Cell::new(0),
            bytes_out: Cell::new(0),
            overrun: Cell::new(0),
            framing: Cell::new(0),
            parity: Cell::new(0),
            noise: Cell::new(0),
            overlong: Cell::new(0),
            crc: Cell::new(0),
            malformed: Cell::new(0),
            unencodable: Cell::new(0),
            rx_full: Cell::new(0),
        }
    }

    /// Counts a UART error.
    pub fn uart_error(&self, e: SerialError) {
        bump(match e {
            SerialError::Overrun => &self.overrun,
            SerialError::Framing | SerialError::Break => &self.framing,
            SerialError::Parity => &self.parity,
            _ => &self.noise,
        });
    }

    /// Counts a dropped frame.
    pub fn frame_error(&self, e: FrameError) {
        bump(match e {
            FrameError::Overlong => &self.overlong,
            FrameError::Crc => &self.crc,
            FrameError::Malformed => &self.malformed,
            FrameError::Encode => &self.unencodable,
        });
    }

    /// The counters of the one-line report, in the order of the `#`s of
    /// [`REPORT`].
    pub(crate) fn report(&self) -> [u32; 9] {
        [
            self.frames_in.get(),
            self.frames_out.get(),
            self.overrun.get(),
            self.framing.get(),
            self.parity.get(),
            self.noise.get(),
            self.overlong.get(),
            self.crc.get(),
            self.malformed.get(),
        ]
    }

    /// All UART and frame errors together.
    pub fn errors(&self) -> u32 {
        [
            &self.overrun,
            &self.framing,
            &self.parity,
            &self.noise,
            &self.overlong,
            &self.crc,
            &self.malformed,
            &self.unencodable,
        ]
        .iter()
        .fold(0u32, |a, c| a.wrapping_add(c.get()))
    }
}

/// The one-line report of [`SerialStats`]: each `#` stands for the next
/// counter of [`SerialStats::report`]: `in` and `out`, then the errors a
/// peer or the line can cause.
pub(crate) const REPORT: &str =
    "in # out # overrun # framing # parity # noise # overlong # crc # malformed #";

impl fmt::Display for SerialStats {
    /// One line: `in 3 out 2 overrun 0 framing 0 parity 0 noise 0 overlong 0 crc 0 malformed 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (text, value) in REPORT.split('#').zip(self.report()) {
            write!(f, "{text}{value}")?;
        }
        Ok(())
    }
}

/// The I/O doer of a serial flow: each recur moves what the UART has ready
/// into frames on the rx Deck, and frames from the tx Deck out to the UART.
/// It never waits.
///
/// By default it polls: it runs every pass (or every
/// [`with_tock`](SerialDoer::with_tock)). Given a waker
/// ([`with_waker`](SerialDoer::with_waker)) it *parks* instead whenever it
/// is idle, and runs only when woken: by the UART's receive interrupt, or by
/// a push into its tx Deck. Until it is idle (bytes it could not write yet,
/// a frame the full rx Deck did not take, a read budget used up) it keeps
/// running at its tock.
///
/// - `U`: any UART with the `embedded-io` traits (wrap an
///   `embedded-hal-nb` UART in [`NbSerial`](crate::nb_adapter::NbSerial)).
/// - `F`: the framing, [`Lines`](crate::Lines) or [`Cobs`](crate::Cobs).
/// - `M`: the largest frame; `B`: the encode buffer for one frame on its
///   way out (at least `M` plus the framing's overhead).
///
/// Backpressure: when the rx Deck is full, a completed frame is held and
/// reading stops, so bytes wait in the UART instead of being dropped here.
///
/// ```
/// use hio_core::{Deck, Doist, SimClock, StopFlag, Tock};
/// use hio_embedded::{Console, Frame, Lines, MockUart, SerialDoer, SerialStats};
///
/// let mut uart: MockUart<64, 64> = MockUart::new();
/// uart.push_rx(b"echo hello\nquit\n").unwrap();
/// let (rx, tx) = (Deck::<Frame<96>, 4>::new(), Deck::<Frame<96>, 4>::new());
/// let (stats, stop) = (SerialStats::new(), StopFlag::new());
/// let mut serial: SerialDoer<'_, _, Lines<96>, 96, 98> =
///     SerialDoer::new("serial", uart, Lines::new(), &rx, &tx, &stats);
/// let mut console = Console::new(&rx, &tx, &stats, &stop);
/// let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10)).unwrap();
/// doist.add(&mut serial).unwrap();
/// doist.add(&mut console).unwrap();
/// doist.run(&mut SimClock::new(), Some(&stop)); // `quit` stops it
/// drop(doist);
/// assert_eq!(serial.uart().tx(), b"hello\nbye\n");
/// ```
pub struct SerialDoer<'a, U, F, const M: usize, const B: usize> {
    name: &'a str,
    uart: U,
    framer: F,
    rx: &'a dyn Push<Frame<M>>,
    tx: &'a dyn Pull<Frame<M>>,
    stats: &'a SerialStats,
    held: Option<Frame<M>>,
    out: [u8; B],
    out_len: usize,
    out_pos: usize,
    budget: usize,
    tock: Tock,
    /// Parks when idle, woken through this.
    waker: Option<Waker>,
    /// Its enter: [`attach`] once given a waker, so that an image whose
    /// serial doers have none does not link it.
    enter: Enter,
    /// Work was left at the end of the last recur: do not park.
    busy: bool,
}

impl<'a, U, F, const M: usize, const B: usize> SerialDoer<'a, U, F, M, B>
where
    U: Read + Write + ReadReady + WriteReady,
    U::Error: Into<SerialError>,
    F: Framer,
{
    /// A serial doer named `name` on `uart`, handing received frames to
    /// `rx` and sending the frames of `tx`.
    pub fn new(
        name: &'a str,
        uart: U,
        framer: F,
        rx: &'a dyn Push<Frame<M>>,
        tx: &'a dyn Pull<Frame<M>>,
        stats: &'a SerialStats,
    ) -> Self {
        SerialDoer {
            name,
            uart,
            framer,
            rx,
            tx,
            stats,
            held: None,
            out: [0; B],
            out_len: 0,
            out_pos: 0,
            budget: 64,
            tock: Tock::ZERO,
            waker: None,
            enter: no_waker,
            busy: false,
        }
    }

    /// Reads at most `bytes` per recur (default 64), so one busy line cannot
    /// starve the rest of the tree.
    pub fn with_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes.max(1);
        self
    }

    /// Runs every `tock` instead of every pass.
    pub fn with_tock(mut self, tock: Tock) -> Self {
        self.tock = tock;
        self
    }

    /// Parks whenever idle, until woken through `waker` (taken on when it
    /// enters; its Doist must drain the waker's board).
    ///
    /// Whatever makes work for it must wake it:
    ///
    /// - received bytes: the UART's receive interrupt handler calls
    ///   `waker.wake()`. The doer reads until the UART has nothing ready
    ///   before it parks, so a wake must come for every byte that arrives
    ///   after the last read found the UART empty: with a level-triggered
    ///   interrupt armed when the receive FIFO is found empty (as
    ///   [`Pl011::with_rx_interrupt`](crate::Pl011::with_rx_interrupt)
    ///   does) nothing is missed;
    /// - frames to send: give the tx Deck the same waker,
    ///   `tx.wake_on_push(Some(waker))`.
    ///
    /// A UART with no receive interrupt (a mock, most `embedded-hal-nb`
    /// drivers) is polled instead: leave the waker out.
    pub fn with_waker(mut self, waker: Waker) -> Self {
        self.waker = Some(waker);
        self.enter = attach;
        self
    }

    /// The UART, e.g. to inspect a mock in a test.
    pub fn uart(&mut self) -> &mut U {
        &mut self.uart
    }

    /// Gives the UART back.
    pub fn into_uart(self) -> U {
        self.uart
    }

    /// Hands the held frame, if any, on to the rx Deck; `false` when the
    /// Deck is full and the frame stays held.
    fn hand_on(&mut self) -> bool {
        let Some(frame) = self.held.take() else {
            return true;
        };
        match self.rx.push(frame) {
            Ok(()) => {
                bump(&self.stats.frames_in);
                true
            }
            Err(frame) => {
                self.held = Some(frame);
                bump(&self.stats.rx_full);
                false
            }
        }
    }

    /// Moves what the UART has ready into frames; `true` when it stopped
    /// before the UART was empty (a full rx Deck, the budget used up).
    fn receive(&mut self) -> bool {
        if !self.hand_on() {
            return true;
        }
        for _ in 0..self.budget {
            match self.uart.read_ready() {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) => {
                    self.uart_error(e.into());
                    continue;
                }
            }
            let mut byte = [0u8; 1];
            match self.uart.read(&mut byte) {
                Ok(1) => {}
                Ok(_) => break,
                Err(e) => {
                    self.uart_error(e.into());
                    continue;
                }
            }
            bump(&self.stats.bytes_in);
            let e = match self.framer.feed(byte[0]) {
                None => continue,
                Some(Ok(payload)) if payload.len() <= M => {
                    // built where it is held: a frame is moved only into the Deck
                    let _ = self.held.insert(Frame::new()).extend_from_slice(payload);
                    if !self.hand_on() {
                        return true;
                    }
                    continue;
                }
                Some(Ok(_)) => FrameError::Overlong,
                Some(Err(e)) => e,
            };
            warn!("serial: frame dropped: {}", e);
            self.stats.frame_error(e);
        }
        true
    }

    fn uart_error(&mut self, e: SerialError) {
        debug!("serial: uart error {}", e);
        self.stats.uart_error(e);
        self.framer.resync();
    }

    /// Moves frames from the tx Deck out, as far as the UART takes them.
    fn transmit(&mut self) {
        loop {
            if self.out_pos >= self.out_len {
                // looked at where it was pulled to: not moved out of the Option
                let pulled = self.tx.pull();
                let Some(frame) = pulled.as_deref() else {
                    return;
                };
                match self.framer.encode(frame, &mut self.out) {
                    Ok(n) => {
                        self.out_len = n;
                        self.out_pos = 0;
                    }
                    Err(e) => {
                        self.stats.frame_error(e);
                        continue;
                    }
                }
            }
            match self.uart.write_ready() {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    self.stats.uart_error(e.into());
                    return;
                }
            }
            let pending = self.out.get(self.out_pos..self.out_len).unwrap_or(&[]);
            match self.uart.write(pending) {
                Ok(0) => return,
                Ok(n) => {
                    self.out_pos += n;
                    self.stats
                        .bytes_out
                        .set(self.stats.bytes_out.get().wrapping_add(n as u32));
                    if self.out_pos >= self.out_len {
                        bump(&self.stats.frames_out);
                    }
                }
                Err(e) => {
                    self.stats.uart_error(e.into());
                    return;
                }
            }
        }
    }

    /// Sends what is left (at cease or exit), trying a bounded number of
    /// times so a stuck UART cannot hang the stop.
    fn drain(&mut self) {
        for _ in 0..10_000 {
            self.transmit();
            if self.out_pos >= self.out_len && self.tx.is_empty() {
                break;
            }
        }
        let _ = self.uart.flush();
    }
}

impl<U, F, const M: usize, const B: usize> Doer for SerialDoer<'_, U, F, M, B>
where
    U: Read + Write + ReadReady + WriteReady,
    U::Error: Into<SerialError>,
    F: Framer,
{
    fn name(&self) -> &str {
        self.name
    }

    fn tock(&self) -> Tock {
        match self.waker {
            Some(_) if !self.busy => Tock::NEVER,
            _ => self.tock,
        }
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        (self.enter)(cx, &self.waker)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // its tock changes between its own and never as it falls idle
        cx.retock();
        let reading = self.receive();
        self.transmit();
        // parks only with nothing left to do (what was not written waits
        // for room in the UART, which no interrupt announces)
        self.busy = reading || self.out_pos < self.out_len;
        Ok(Step::Continue)
    }

    fn cease(&mut self, _cx: &mut Cx<'_>) {
        self.drain();
    }

    fn clean(&mut self, _cx: &mut Cx<'_>) {
        self.drain();
    }
}

impl<U, F, const M: usize, const B: usize> fmt::Debug for SerialDoer<'_, U, F, M, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SerialDoer")
            .field("name", &self.name)
            .field("held", &self.held.is_some())
            .field(
                "out_pending",
                &(self.out_len - self.out_pos.min(self.out_len)),
            )
            .finish()
    }
}
