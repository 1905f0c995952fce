//! The serial flow on the host against a scripted UART: every error path a
//! real UART or a noisy line can produce, none of which QEMU can.

use std::cell::RefCell;

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};
use hio_core::{Cx, Deck, Doer, Doist, End, Fault, SimClock, Step, StopFlag, Tock};
use hio_embedded::mock::MockUart;
use hio_embedded::{
    Cobs, Console, Frame, Framer, Heartbeat, Lines, NbSerial, SerialDoer, SerialError, SerialStats,
};

/// Frames of 96 bytes hold a whole `stats` line.
const M: usize = 96;
type Mock = MockUart<1024, 1024>;

/// Lets the test reach the mock while the serial doer owns the UART.
struct Shared<'a>(&'a RefCell<Mock>);

impl ErrorType for Shared<'_> {
    type Error = SerialError;
}
impl Read for Shared<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, SerialError> {
        self.0.borrow_mut().read(buf)
    }
}
impl ReadReady for Shared<'_> {
    fn read_ready(&mut self) -> Result<bool, SerialError> {
        self.0.borrow_mut().read_ready()
    }
}
impl Write for Shared<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, SerialError> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> Result<(), SerialError> {
        self.0.borrow_mut().flush()
    }
}
impl WriteReady for Shared<'_> {
    fn write_ready(&mut self) -> Result<bool, SerialError> {
        self.0.borrow_mut().write_ready()
    }
}

/// Runs the console flow; `script` is called before each pass with the
/// pass number and the mock, and may return false to stop feeding.
fn console_flow(
    passes: usize,
    mut script: impl FnMut(usize, &mut Mock),
) -> (String, SerialStats, Mock, hio_core::Report) {
    let uart = RefCell::new(Mock::new());
    let rx: Deck<Frame<M>, 4> = Deck::new();
    let tx: Deck<Frame<M>, 4> = Deck::new();
    let stats = SerialStats::new();
    let stop = StopFlag::new();
    let mut serial: SerialDoer<'_, _, Lines<M>, M, 104> =
        SerialDoer::new("serial", Shared(&uart), Lines::new(), &rx, &tx, &stats);
    let mut console = Console::new(&rx, &tx, &stats, &stop);
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10)).unwrap();
    doist.add(&mut serial).unwrap();
    doist.add(&mut console).unwrap();
    let mut report = None;
    for k in 0..passes {
        script(k, &mut uart.borrow_mut());
        if stop.is_stopped() {
            report = Some(doist.stop());
            break;
        }
        if let Some(r) = doist.pass() {
            report = Some(r);
            break;
        }
    }
    let report = report.unwrap_or_else(|| doist.stop());
    drop(serial);
    let mut mock = uart.into_inner();
    let out = String::from_utf8(mock.take_tx().to_vec()).unwrap();
    (out, stats, mock, report)
}

fn feed_at(at: usize, items: Vec<Item>) -> impl FnMut(usize, &mut Mock) {
    move |k, m| {
        if k == at {
            for i in &items {
                match i {
                    Item::Bytes(b) => m.push_rx(b).unwrap(),
                    Item::Err(e) => m.push_rx_error(*e).unwrap(),
                }
            }
        }
    }
}

enum Item {
    Bytes(&'static [u8]),
    Err(SerialError),
}
use Item::{Bytes, Err as UartErr};

#[test]
fn commands_are_answered_byte_for_byte() {
    let (out, stats, _, _) = console_flow(
        20,
        feed_at(
            0,
            vec![
                Bytes(b"echo hello world\n"),
                Bytes(b"nope\n"),
                Bytes(b"echo\n"),
            ],
        ),
    );
    assert_eq!(out, "hello world\nerror: unknown command\n\n");
    assert_eq!((stats.frames_in.get(), stats.frames_out.get()), (3, 3));
    assert_eq!(stats.errors(), 0);
}

#[test]
fn overrun_mid_line_drops_that_line_and_nothing_after() {
    let (out, stats, _, _) = console_flow(
        20,
        feed_at(
            0,
            vec![
                Bytes(b"echo fi"),
                UartErr(SerialError::Overrun),
                Bytes(b"rst\n"),
                Bytes(b"echo second\n"),
            ],
        ),
    );
    assert_eq!(out, "second\n");
    assert_eq!(stats.overrun.get(), 1);
    assert_eq!(stats.frames_in.get(), 1);
}

#[test]
fn framing_and_parity_errors_between_lines_lose_no_line() {
    let (out, stats, _, _) = console_flow(
        20,
        feed_at(
            0,
            vec![
                Bytes(b"echo a\n"),
                UartErr(SerialError::Framing),
                Bytes(b"echo b\n"),
                UartErr(SerialError::Parity),
                UartErr(SerialError::Noise),
                Bytes(b"echo c\n"),
            ],
        ),
    );
    assert_eq!(out, "a\nb\nc\n");
    assert_eq!(
        (stats.framing.get(), stats.parity.get(), stats.noise.get()),
        (1, 1, 1)
    );
}

#[test]
fn a_too_long_line_is_counted_and_the_next_one_is_read() {
    let long: &'static [u8] = Box::leak(
        format!("echo {}\n", "x".repeat(200))
            .into_bytes()
            .into_boxed_slice(),
    );
    let (out, stats, _, _) = console_flow(40, feed_at(0, vec![Bytes(long), Bytes(b"echo ok\n")]));
    assert_eq!(out, "ok\n");
    assert_eq!(stats.overlong.get(), 1);
}

#[test]
fn a_full_tx_fifo_holds_replies_until_there_is_room() {
    let (out, stats, _, _) = console_flow(30, |k, m| {
        if k == 0 {
            m.set_tx_full(true);
            m.push_rx(b"echo 1\necho 2\necho 3\necho 4\necho 5\necho 6\n")
                .unwrap();
        }
        if k == 15 {
            m.set_tx_full(false);
        }
    });
    assert_eq!(out, "1\n2\n3\n4\n5\n6\n");
    assert_eq!(stats.frames_out.get(), 6);
}

#[test]
fn bytes_faster_than_the_flow_wait_in_the_uart() {
    // 10 commands at once; rx and tx Decks hold 4 each: the serial doer stops
    // reading when rx is full and the bytes wait in the UART
    let mut pending_after_first = 0;
    let (out, stats, _, _) = console_flow(60, |k, m| {
        if k == 0 {
            for i in 0..10 {
                let line: &'static [u8] =
                    Box::leak(format!("echo {i}\n").into_bytes().into_boxed_slice());
                m.push_rx(line).unwrap();
            }
        }
        if k == 1 {
            pending_after_first = m.rx_pending();
        }
    });
    let expected: String = (0..10).map(|i| format!("{i}\n")).collect();
    assert_eq!(out, expected, "nothing lost, order kept");
    assert!(
        pending_after_first > 0,
        "backpressure left bytes in the UART"
    );
    assert!(stats.rx_full.get() > 0);
}

#[test]
fn stats_report_the_counters() {
    let (out, _, _, _) = console_flow(20, |k, m| match k {
        0 => {
            m.push_rx(b"echo x\n").unwrap();
            m.push_rx_error(SerialError::Overrun).unwrap();
        }
        5 => m.push_rx(b"stats\n").unwrap(),
        _ => {}
    });
    assert_eq!(
        out,
        "x\nin 2 out 1 overrun 1 framing 0 parity 0 noise 0 overlong 0 crc 0 malformed 0\n"
    );
}

#[test]
fn quit_says_bye_and_stops_every_doer() {
    let (out, _, mock, report) =
        console_flow(20, feed_at(0, vec![Bytes(b"echo a\n"), Bytes(b"quit\n")]));
    assert_eq!(out, "a\nbye\n");
    assert_eq!(report.end, End::Stopped);
    assert!(
        mock.flushes() >= 1,
        "the serial doer drains and flushes at cease"
    );
}

/// Pulls one frame per recur and sends it back: a slow consumer.
struct Echo<'a> {
    rx: &'a Deck<Frame<M>, 2>,
    tx: &'a Deck<Frame<M>, 8>,
}

impl Doer for Echo<'_> {
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        if !self.tx.is_full() {
            if let Some(f) = self.rx.pull() {
                let _ = self.tx.push(f);
            }
        }
        Ok(Step::Continue)
    }
}

#[test]
fn cobs_frames_survive_garbage_and_damage() {
    let enc: Cobs<M> = Cobs::new();
    let mut stream = Vec::new();
    let mut buf = [0u8; 112];
    let mut frame = |p: &[u8], s: &mut Vec<u8>| {
        let n = enc.encode(p, &mut buf).unwrap();
        s.extend_from_slice(&buf[..n]);
    };
    stream.extend_from_slice(&[0x13, 0x37, 0xff, 0x00]); // garbage, then a delimiter
    frame(b"one\0binary", &mut stream);
    let mut damaged = Vec::new();
    frame(b"two", &mut damaged);
    damaged[1] ^= 0x40; // a flipped bit: CRC fails
    stream.extend_from_slice(&damaged);
    stream.extend_from_slice(&[0x55; 7]); // noise without a delimiter ...
    stream.push(0); // ... ended by one
    frame(b"three", &mut stream);

    let uart = RefCell::new(Mock::new());
    uart.borrow_mut().push_rx(&stream).unwrap();
    let rx: Deck<Frame<M>, 2> = Deck::new();
    let tx: Deck<Frame<M>, 8> = Deck::new();
    let stats = SerialStats::new();
    let mut serial: SerialDoer<'_, _, Cobs<M>, M, 112> =
        SerialDoer::new("serial", Shared(&uart), Cobs::new(), &rx, &tx, &stats);
    let mut echo = Echo { rx: &rx, tx: &tx };
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(1))
        .unwrap()
        .with_limit(Tock::from_millis(40));
    doist.add(&mut serial).unwrap();
    doist.add(&mut echo).unwrap();
    assert_eq!(doist.run(&mut SimClock::new(), None).end, End::Limit);
    drop(serial);
    let sent = uart.into_inner().take_tx();
    let mut dec: Cobs<M> = Cobs::new();
    let got: Vec<Vec<u8>> = sent
        .iter()
        .filter_map(|&b| dec.feed(b).map(|r| r.unwrap().to_vec()))
        .collect();
    assert_eq!(got, vec![b"one\0binary".to_vec(), b"three".to_vec()]);
    assert_eq!(
        stats.crc.get() + stats.malformed.get(),
        3,
        "garbage, damage, noise"
    );
    assert_eq!(stats.frames_in.get(), 2);
}

/// An embedded-hal-nb UART: one byte at a time, WouldBlock when idle.
struct HalUart {
    rx: std::collections::VecDeque<Result<u8, embedded_hal_nb::serial::ErrorKind>>,
    tx: Vec<u8>,
    busy: bool,
}

impl embedded_hal_nb::serial::ErrorType for HalUart {
    type Error = embedded_hal_nb::serial::ErrorKind;
}
impl embedded_hal_nb::serial::Read<u8> for HalUart {
    fn read(&mut self) -> nb::Result<u8, Self::Error> {
        match self.rx.pop_front() {
            Some(Ok(b)) => Ok(b),
            Some(Err(e)) => Err(nb::Error::Other(e)),
            None => Err(nb::Error::WouldBlock),
        }
    }
}
impl embedded_hal_nb::serial::Write<u8> for HalUart {
    fn write(&mut self, b: u8) -> nb::Result<(), Self::Error> {
        // every other call is busy, as a slow transmitter would be
        self.busy = !self.busy;
        if self.busy {
            return Err(nb::Error::WouldBlock);
        }
        self.tx.push(b);
        Ok(())
    }
    fn flush(&mut self) -> nb::Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn an_embedded_hal_nb_uart_plugs_in_through_the_adapter() {
    let mut rx = std::collections::VecDeque::new();
    for &b in b"echo over nb\n" {
        rx.push_back(Ok(b));
    }
    rx.push_back(Err(embedded_hal_nb::serial::ErrorKind::Parity));
    for &b in b"echo again\n" {
        rx.push_back(Ok(b));
    }
    let uart = NbSerial::new(HalUart {
        rx,
        tx: Vec::new(),
        busy: false,
    });
    let rxd: Deck<Frame<M>, 4> = Deck::new();
    let txd: Deck<Frame<M>, 4> = Deck::new();
    let stats = SerialStats::new();
    let stop = StopFlag::new();
    let mut serial: SerialDoer<'_, _, Lines<M>, M, 104> =
        SerialDoer::new("serial", uart, Lines::new(), &rxd, &txd, &stats);
    let mut console = Console::new(&rxd, &txd, &stats, &stop);
    let mut beat = Heartbeat::new(&txd).with_tock(Tock::from_secs(100));
    let mut doist: Doist<'_, 3> = Doist::new(Tock::from_millis(1))
        .unwrap()
        .with_limit(Tock::from_millis(60));
    doist.add(&mut serial).unwrap();
    doist.add(&mut console).unwrap();
    doist.add(&mut beat).unwrap();
    doist.run(&mut SimClock::new(), None);
    let (hal, _) = serial.into_uart().into_parts();
    assert_eq!(
        String::from_utf8(hal.tx).unwrap(),
        "over nb\nagain\nbeat 1 0.0\n"
    );
    assert_eq!(stats.parity.get(), 1);
}
