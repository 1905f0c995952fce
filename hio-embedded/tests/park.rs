//! The parking serial flow on the host: a [`SerialDoer`] (and a
//! [`Console`]) given a waker run only when woken, by the mock UART's
//! receive "interrupt" or by a push into their Decks, and lose no byte.

use std::cell::{Cell, RefCell};

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};
use hio_core::{
    Clock, Cx, Deck, Doer, Doist, End, Fault, SimClock, Step, StopFlag, Tock, Tyme, WakeBoard,
};
use hio_embedded::mock::MockUart;
use hio_embedded::{Console, Frame, Lines, SerialDoer, SerialError, SerialStats};

/// Frames of 112 bytes hold a whole `stats` line with its wake-ups.
const M: usize = 112;
type Mock = MockUart<4096, 4096>;
type Serial<'a, U> = SerialDoer<'a, U, Lines<M>, M, { M + 2 }>;

/// Lets the test reach the mock while the serial doer owns the UART; with
/// `loopback`, every byte written is also received (a peer that echoes).
struct Shared<'a> {
    mock: &'a RefCell<Mock>,
    loopback: bool,
}

impl<'a> Shared<'a> {
    fn new(mock: &'a RefCell<Mock>) -> Self {
        Shared {
            mock,
            loopback: false,
        }
    }
}

impl ErrorType for Shared<'_> {
    type Error = SerialError;
}
impl Read for Shared<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, SerialError> {
        self.mock.borrow_mut().read(buf)
    }
}
impl ReadReady for Shared<'_> {
    fn read_ready(&mut self) -> Result<bool, SerialError> {
        self.mock.borrow_mut().read_ready()
    }
}
impl Write for Shared<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, SerialError> {
        let mut mock = self.mock.borrow_mut();
        let n = mock.write(buf)?;
        if self.loopback {
            let _ = mock.push_rx(&buf[..n]);
        }
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), SerialError> {
        self.mock.borrow_mut().flush()
    }
}
impl WriteReady for Shared<'_> {
    fn write_ready(&mut self) -> Result<bool, SerialError> {
        self.mock.borrow_mut().write_ready()
    }
}

/// Runs every pass (tock 0) and counts them, so that tyme moves on by one
/// tock per pass while the serial doer is parked.
struct Ticker<'a>(&'a Cell<u32>);

impl Doer for Ticker<'_> {
    fn name(&self) -> &str {
        "ticker"
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        self.0.set(self.0.get() + 1);
        Ok(Step::Continue)
    }
}

fn line(text: &[u8]) -> Frame<M> {
    Frame::from_slice(text).unwrap()
}

fn texts(deck: &Deck<Frame<M>, 4>) -> Vec<String> {
    std::iter::from_fn(|| deck.pull())
        .map(|f| String::from_utf8(f.to_vec()).unwrap())
        .collect()
}

#[test]
fn a_parked_serial_doer_runs_only_when_woken() {
    static BOARD: WakeBoard<2> = WakeBoard::new();
    let io = BOARD.waker().unwrap();
    let uart = RefCell::new(Mock::new());
    let (rx, tx) = (Deck::<Frame<M>, 4>::new(), Deck::<Frame<M>, 4>::new());
    tx.wake_on_push(Some(io));
    let stats = SerialStats::new();
    let passes = Cell::new(0);
    let mut ticker = Ticker(&passes);
    let mut serial: Serial<'_, _> =
        SerialDoer::new("serial", Shared::new(&uart), Lines::new(), &rx, &tx, &stats)
            .with_waker(io);
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10)).unwrap();
    doist.wakes(&BOARD);
    doist.add(&mut serial).unwrap();
    doist.add(&mut ticker).unwrap();
    let run = |doist: &mut Doist<'_, 2>, n: u32| {
        for _ in 0..n {
            assert_eq!(doist.pass(), None);
        }
    };

    // its first recur, at its entry: nothing to read, so it parks
    run(&mut doist, 1);
    // bytes come, but no interrupt announces them: it does not run
    uart.borrow_mut().push_rx(b"one\n").unwrap();
    run(&mut doist, 5);
    assert_eq!(uart.borrow().rx_pending(), 4, "the bytes wait in the UART");
    assert!(rx.is_empty());
    // a wake from outside: it runs at the next pass, and reads it all
    io.wake();
    run(&mut doist, 1);
    assert_eq!(uart.borrow().rx_pending(), 0);
    assert_eq!(texts(&rx), ["one"]);
    // parked again
    uart.borrow_mut().push_rx(b"two\n").unwrap();
    run(&mut doist, 3);
    assert_eq!(uart.borrow().rx_pending(), 4);
    // a line to send wakes it too (the tx Deck's push), and it reads what
    // waits as well
    tx.push(line(b"out")).unwrap();
    run(&mut doist, 1);
    assert_eq!(uart.borrow().tx(), b"out\n");
    assert_eq!(texts(&rx), ["two"]);
    assert_eq!(passes.get(), 11, "the Doist ran every pass meanwhile");
    assert_eq!(stats.bytes_in.get(), 8);
}

#[test]
fn the_mock_interrupt_wakes_it_for_the_next_pass() {
    static BOARD: WakeBoard<2> = WakeBoard::new();
    let io = BOARD.waker().unwrap();
    let uart = RefCell::new(Mock::new());
    uart.borrow_mut().set_rx_interrupt(Some(io));
    let (rx, tx) = (Deck::<Frame<M>, 4>::new(), Deck::<Frame<M>, 4>::new());
    let stats = SerialStats::new();
    let passes = Cell::new(0);
    let mut ticker = Ticker(&passes);
    let mut serial: Serial<'_, _> =
        SerialDoer::new("serial", Shared::new(&uart), Lines::new(), &rx, &tx, &stats)
            .with_waker(io);
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10)).unwrap();
    doist.wakes(&BOARD);
    doist.add(&mut ticker).unwrap();
    doist.add(&mut serial).unwrap();
    for _ in 0..4 {
        assert_eq!(doist.pass(), None);
    }
    assert_eq!(uart.borrow().rx_interrupts(), 0);
    // bytes arrive between passes: the interrupt (armed when the doer
    // found the UART empty) wakes it once, however many bytes come
    uart.borrow_mut().push_rx(b"hel").unwrap();
    uart.borrow_mut().push_rx(b"lo\nwor").unwrap();
    assert_eq!(uart.borrow().rx_interrupts(), 1);
    assert_eq!(doist.pass(), None);
    assert_eq!(texts(&rx), ["hello"]);
    assert_eq!(uart.borrow().rx_pending(), 0, "it read all that was ready");
    // the rest of the line, later: armed again by that read
    for _ in 0..3 {
        assert_eq!(doist.pass(), None);
    }
    uart.borrow_mut().push_rx(b"ld\n").unwrap();
    assert_eq!(uart.borrow().rx_interrupts(), 2);
    assert_eq!(doist.pass(), None);
    assert_eq!(texts(&rx), ["world"]);
    assert_eq!(stats.bytes_in.get(), 12);
    assert_eq!(stats.errors(), 0);
}

#[test]
fn bytes_that_arrive_as_it_parks_wake_it() {
    // a peer that echoes: the bytes the doer writes arrive after it found
    // the UART empty, in the very recur after which it parks
    static BOARD: WakeBoard<2> = WakeBoard::new();
    let io = BOARD.waker().unwrap();
    let uart = RefCell::new(Mock::new());
    uart.borrow_mut().set_rx_interrupt(Some(io));
    let (rx, tx) = (Deck::<Frame<M>, 4>::new(), Deck::<Frame<M>, 4>::new());
    tx.wake_on_push(Some(io));
    let stats = SerialStats::new();
    let passes = Cell::new(0);
    let mut ticker = Ticker(&passes);
    let shared = Shared {
        mock: &uart,
        loopback: true,
    };
    let mut serial: Serial<'_, _> =
        SerialDoer::new("serial", shared, Lines::new(), &rx, &tx, &stats).with_waker(io);
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10)).unwrap();
    doist.wakes(&BOARD);
    doist.add(&mut ticker).unwrap();
    doist.add(&mut serial).unwrap();
    assert_eq!(doist.pass(), None);
    tx.push(line(b"ping")).unwrap();
    assert_eq!(doist.pass(), None);
    assert_eq!(uart.borrow().tx(), b"ping\n");
    assert!(rx.is_empty(), "sent after it read");
    assert_eq!(uart.borrow().rx_interrupts(), 1, "the echo woke it");
    assert_eq!(doist.pass(), None);
    assert_eq!(texts(&rx), ["ping"]);
    assert_eq!(uart.borrow().rx_pending(), 0);
}

/// Simulated time that delivers bytes to the mock UART at given tymes,
/// while the Doist sleeps: the mock's interrupt then wakes the doer, as a
/// UART's would end a `WFI`.
struct Feed<'a> {
    now: Tyme,
    plan: Vec<(Tyme, Vec<u8>)>,
    next: usize,
    uart: &'a RefCell<Mock>,
    waits: u32,
}

impl Feed<'_> {
    fn deliver(&mut self) {
        while let Some((at, bytes)) = self.plan.get(self.next) {
            if *at > self.now {
                break;
            }
            self.uart.borrow_mut().push_rx(bytes).unwrap();
            self.next += 1;
        }
    }
}

impl Clock for Feed<'_> {
    fn now(&mut self) -> Tyme {
        self.deliver();
        self.now
    }

    fn wait_until(&mut self, deadline: Tyme) {
        self.waits += 1;
        let until = match self.plan.get(self.next) {
            Some((at, _)) if *at < deadline => *at,
            _ => deadline,
        };
        self.now = self.now.max(until);
        self.deliver();
    }
}

/// What a parked flow gave: how the run ended, what it sent, its serial
/// errors, and how many times the Doist slept.
struct Ran {
    report: hio_core::Report,
    out: String,
    errors: u32,
    waits: u32,
}

/// The serial flow (a console and a serial doer, both parked, linked by
/// Decks of two, so a burst overfills them and parked doers are also woken
/// by room), fed `plan` (bytes arriving at tymes), run to its end or
/// `limit`.
fn run_flow(board: &'static WakeBoard<2>, plan: Vec<(Tyme, Vec<u8>)>, limit: Tock) -> Ran {
    board.reset();
    let (io, cw) = (board.waker().unwrap(), board.waker().unwrap());
    let uart = RefCell::new(Mock::new());
    uart.borrow_mut().set_rx_interrupt(Some(io));
    let (rx, tx) = (Deck::<Frame<M>, 2>::new(), Deck::<Frame<M>, 2>::new());
    tx.wake_on_push(Some(io));
    rx.wake_on_push(Some(cw));
    tx.wake_on_pull(Some(cw));
    let stats = SerialStats::new();
    let stop = StopFlag::new();
    let mut console = Console::new(&rx, &tx, &stats, &stop).with_waker(cw);
    let mut serial: Serial<'_, _> =
        SerialDoer::new("serial", Shared::new(&uart), Lines::new(), &rx, &tx, &stats)
            .with_waker(io);
    let mut clock = Feed {
        now: Tyme::ZERO,
        plan,
        next: 0,
        uart: &uart,
        waits: 0,
    };
    let report = {
        let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10)).unwrap().with_limit(limit);
        doist.wakes(board);
        doist.add(&mut console).unwrap();
        doist.add(&mut serial).unwrap();
        doist.run(&mut clock, Some(&stop))
    };
    drop(serial);
    let out = String::from_utf8(uart.borrow_mut().take_tx().to_vec()).unwrap();
    Ran {
        report,
        out,
        errors: stats.errors(),
        waits: clock.waits,
    }
}

#[test]
fn a_parked_flow_answers_everything_and_sleeps_between() {
    static BOARD: WakeBoard<2> = WakeBoard::new();
    let burst: String = (0..20).map(|k| format!("echo burst {k}\n")).collect();
    let plan = vec![
        (Tyme::from_millis(1_234), b"echo hel".to_vec()),
        (Tyme::from_millis(1_236), b"lo\n".to_vec()),
        (Tyme::from_millis(9_000), burst.into_bytes()),
        (
            Tyme::from_millis(30_001),
            b"echo after a long sleep\nquit\n".to_vec(),
        ),
    ];
    let ran = run_flow(&BOARD, plan, Tock::from_secs(60));
    assert_eq!(ran.report.end, End::Stopped, "`quit` stops it");
    assert!(
        ran.report.tyme < Tyme::from_millis(30_100),
        "stopped at {}",
        ran.report.tyme
    );
    let mut expected = String::from("hello\n");
    for k in 0..20 {
        expected.push_str(&format!("burst {k}\n"));
    }
    expected.push_str("after a long sleep\nbye\n");
    assert_eq!(ran.out, expected, "every line answered, in order");
    assert_eq!(ran.errors, 0);
    // 30 s of tocks of 10 ms: a polling flow waits 3000 times; this one
    // only around the lines it gets
    assert!(ran.waits < 40, "{} waits", ran.waits);
}

#[test]
fn without_a_waker_it_polls_every_pass() {
    // the mock without an interrupt: nothing would wake a parked doer, so
    // it is left to poll, and nothing is lost
    let uart = RefCell::new(Mock::new());
    let (rx, tx) = (Deck::<Frame<M>, 4>::new(), Deck::<Frame<M>, 4>::new());
    let stats = SerialStats::new();
    let mut serial: Serial<'_, _> =
        SerialDoer::new("serial", Shared::new(&uart), Lines::new(), &rx, &tx, &stats);
    assert_eq!(serial.tock(), Tock::ZERO);
    let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(10)).unwrap();
    doist.add(&mut serial).unwrap();
    assert_eq!(doist.pass(), None);
    uart.borrow_mut().push_rx(b"polled\n").unwrap();
    assert_eq!(doist.pass(), None);
    assert_eq!(texts(&rx), ["polled"]);
    assert_eq!(doist.tyme(), Tyme::from_millis(20), "every tock");
}

#[test]
fn a_waker_the_doist_does_not_drain_is_a_fault_at_enter() {
    static BOARD: WakeBoard<1> = WakeBoard::new();
    let io = BOARD.waker().unwrap();
    let uart = RefCell::new(Mock::new());
    let (rx, tx) = (Deck::<Frame<M>, 4>::new(), Deck::<Frame<M>, 4>::new());
    let stats = SerialStats::new();
    let mut serial: Serial<'_, _> =
        SerialDoer::new("serial", Shared::new(&uart), Lines::new(), &rx, &tx, &stats)
            .with_waker(io);
    // no `doist.wakes(&BOARD)`: it would park for ever, so it fails at once
    let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(10)).unwrap();
    doist.add(&mut serial).unwrap();
    let report = doist.run(&mut SimClock::new(), None);
    assert!(matches!(report.end, End::Fault(_)), "{:?}", report.end);
}

#[test]
fn stats_can_end_with_the_wake_ups() {
    static WAKEUPS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    fn wakeups() -> u32 {
        WAKEUPS.load(std::sync::atomic::Ordering::Relaxed)
    }
    WAKEUPS.store(42, std::sync::atomic::Ordering::Relaxed);
    let uart = RefCell::new(Mock::new());
    uart.borrow_mut().push_rx(b"stats\n").unwrap();
    let (rx, tx) = (Deck::<Frame<M>, 4>::new(), Deck::<Frame<M>, 4>::new());
    let stats = SerialStats::new();
    let stop = StopFlag::new();
    let mut console = Console::new(&rx, &tx, &stats, &stop).with_wakeups(wakeups);
    let mut serial: Serial<'_, _> =
        SerialDoer::new("serial", Shared::new(&uart), Lines::new(), &rx, &tx, &stats);
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10)).unwrap();
    doist.add(&mut serial).unwrap();
    doist.add(&mut console).unwrap();
    for _ in 0..3 {
        assert_eq!(doist.pass(), None);
    }
    drop(serial);
    assert_eq!(
        uart.borrow().tx(),
        b"in 1 out 0 overrun 0 framing 0 parity 0 noise 0 overlong 0 crc 0 malformed 0 wakeups 42\n"
    );
}

mod random_flows {
    use super::*;
    use proptest::prelude::*;

    /// Lines of `echo WORD`, cut into chunks that arrive at random tymes
    /// (then `quit`), through small Decks: every line is answered, in
    /// order, with no error, and the flow sleeps between arrivals.
    fn flow(words: &[String], cuts: &[usize], gaps: &[u64]) -> Result<(), TestCaseError> {
        static BOARD: WakeBoard<2> = WakeBoard::new();
        // the whole input, cut at `cuts` (taken in order, modulo what is
        // left), each piece `gaps` ms after the one before
        let mut input: Vec<u8> = Vec::new();
        for w in words {
            input.extend_from_slice(format!("echo {w}\n").as_bytes());
        }
        input.extend_from_slice(b"quit\n");
        let (mut plan, mut at, mut rest) = (Vec::new(), 0u64, &input[..]);
        for (k, cut) in cuts
            .iter()
            .chain(std::iter::repeat(&usize::MAX))
            .enumerate()
        {
            if rest.is_empty() {
                break;
            }
            let n = (cut % rest.len()).max(1);
            at += gaps.get(k).copied().unwrap_or(7);
            plan.push((Tyme::from_millis(at), rest[..n].to_vec()));
            rest = &rest[n..];
        }
        let pieces = plan.len() as u32;
        let ran = run_flow(&BOARD, plan, Tock::from_secs(600));
        prop_assert_eq!(ran.report.end, End::Stopped, "`quit` stops it");
        let mut expected: String = words.iter().map(|w| format!("{w}\n")).collect();
        expected.push_str("bye\n");
        prop_assert_eq!(ran.out, expected, "every line answered, in order");
        prop_assert_eq!(ran.errors, 0);
        // it sleeps between arrivals: a few waits per piece, whatever the
        // gaps (a polling flow waits once per 10 ms tock)
        prop_assert!(
            ran.waits <= 4 * pieces + 3 * words.len() as u32 + 8,
            "{} waits for {} pieces",
            ran.waits,
            pieces
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_parked_flow_answers_every_line_whatever_the_arrivals(
            words in prop::collection::vec("[a-z0-9]{1,24}", 0..30),
            cuts in prop::collection::vec(1usize..200, 0..40),
            gaps in prop::collection::vec(0u64..5_000, 0..40),
        ) {
            flow(&words, &cuts, &gaps)?;
        }
    }
}
