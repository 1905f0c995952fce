//! hio's asynchronous logging: the `log` facade into a bounded queue,
//! written out by a `LogDoer` run by a Doist in simulated time.
//!
//! `log::set_logger` is process-wide: only `macros_come_out_in_order`
//! installs the global logger (and uses the macros); every other test
//! uses a `Logger` of its own and calls `Log::log` on it.

use std::io::{self, Write};

use hio_core::{Cx, Doer, Doist, End, Fault, SimClock, Step, Tock, WakeBoard};
use hio_std::logger::{self, InitError, LogDoer, Logger, CUT_MARK, MIN_MAX_LINE};
use log::{Level, LevelFilter, Log, Record};

/// Logs `msg` at Info with target `t` into `logger` (not the global one).
fn log_to(logger: &Logger, msg: &str) {
    logger.log(
        &Record::builder()
            .level(Level::Info)
            .target("t")
            .args(format_args!("{msg}"))
            .build(),
    );
}

/// The lines of `out`, each without its time stamp: `INFO  t: msg`.
fn bodies(out: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(out).expect("UTF-8");
    assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
    text.lines()
        .map(|l| {
            let (stamp, body) = l.trim_start().split_once(' ').expect("a stamp");
            let (secs, micros) = stamp.split_once('.').expect("seconds.micros");
            assert!(secs.bytes().all(|b| b.is_ascii_digit()), "{l}");
            assert!(
                micros.len() == 6 && micros.bytes().all(|b| b.is_ascii_digit()),
                "{l}"
            );
            body.to_string()
        })
        .collect()
}

/// Logs through `log` (the global logger, or a logger of its own) at each
/// recur, `count` times, every `tock`.
struct Talker<'l> {
    logger: Option<&'l Logger>,
    tock: Tock,
    count: u32,
    n: u32,
}

impl Doer for Talker<'_> {
    fn name(&self) -> &str {
        "talker"
    }
    fn tock(&self) -> Tock {
        self.tock
    }
    fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
        match self.logger {
            Some(l) => log_to(l, &format!("talk {}", self.n)),
            None => log::info!(target: "talker", "talk {}", self.n),
        }
        self.n += 1;
        Ok(if self.n == self.count {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

/// Counts the recurs of the doer it wraps.
struct Counting<D> {
    inner: D,
    recurs: u32,
}

impl<D: Doer> Doer for Counting<D> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn tock(&self) -> Tock {
        self.inner.tock()
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.inner.enter(cx)
    }
    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        self.recurs += 1;
        self.inner.recur(cx)
    }
    fn clean(&mut self, cx: &mut Cx<'_>) {
        self.inner.clean(cx)
    }
    fn cease(&mut self, cx: &mut Cx<'_>) {
        self.inner.cease(cx)
    }
    fn abort(&mut self, cx: &mut Cx<'_>) {
        self.inner.abort(cx)
    }
    fn exit(&mut self, cx: &mut Cx<'_>) {
        self.inner.exit(cx)
    }
}

#[test]
fn macros_come_out_in_order() {
    let logger = logger::init(LevelFilter::Debug, 256).expect("the first init");
    let again = logger::init(LevelFilter::Info, 256).expect_err("a second init");
    assert_eq!(again, InitError::AlreadyInstalled);
    assert!(again.to_string().contains("already installed"), "{again}");
    assert_eq!(log::max_level(), LevelFilter::Debug);

    log::error!(target: "macros", "one {}", 1);
    log::warn!(target: "macros", "two");
    log::info!(target: "macros", "three");
    log::debug!(target: "macros", "four");
    log::trace!(target: "macros", "five: filtered out");

    let mut writer = LogDoer::with_writer(logger, Vec::new());
    let mut talker = Talker {
        logger: None,
        tock: Tock::from_millis(20),
        count: 3,
        n: 0,
    };
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10))
        .expect("a positive tock")
        .with_limit(Tock::from_millis(200));
    doist.add(&mut writer).expect("room");
    doist.add(&mut talker).expect("room");
    let report = doist.run(&mut SimClock::new(), None);
    assert_eq!(report.end, End::Limit);

    let lines: Vec<String> = bodies(writer.writer())
        .into_iter()
        .filter(|l| l.contains(" macros: ") || l.contains(" talker: "))
        .collect();
    assert_eq!(
        lines,
        [
            "ERROR macros: one 1",
            "WARN  macros: two",
            "INFO  macros: three",
            "DEBUG macros: four",
            "INFO  talker: talk 0",
            "INFO  talker: talk 1",
            "INFO  talker: talk 2",
        ]
    );
    let s = logger.stats();
    assert_eq!((s.queued, s.dropped, s.lost, s.write_errors), (0, 0, 0, 0));
    assert_eq!(s.logged, s.written);
}

#[test]
fn a_flood_is_dropped_counted_and_reported() {
    let logger = Logger::new(4);
    for n in 0..10 {
        log_to(&logger, &format!("flood {n}"));
    }
    let s = logger.stats();
    assert_eq!((s.logged, s.queued, s.dropped), (10, 4, 6));

    let mut writer = LogDoer::with_writer(&logger, Vec::new());
    let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(10))
        .expect("a positive tock")
        .with_limit(Tock::from_millis(50));
    doist.add(&mut writer).expect("room");
    assert_eq!(doist.run(&mut SimClock::new(), None).end, End::Limit);
    assert_eq!(
        bodies(writer.writer()),
        [
            "INFO  t: flood 0",
            "INFO  t: flood 1",
            "INFO  t: flood 2",
            "INFO  t: flood 3",
            "WARN  hio_std::logger: 6 log lines dropped",
        ]
    );
    let s = logger.stats();
    assert_eq!((s.logged, s.queued, s.written, s.dropped), (10, 0, 4, 6));
}

#[test]
fn the_report_of_a_drop_comes_where_the_lines_were_dropped() {
    let logger = Logger::new(4);
    for n in 0..6 {
        log_to(&logger, &format!("l{n}")); // l4 and l5 are dropped
    }
    let mut out = Vec::new();
    assert_eq!(logger.drain_to(&mut out, 2), 2); // l0 l1: room again
    log_to(&logger, "l6");
    log_to(&logger, "l7");
    logger.flush_to(&mut out);
    log_to(&logger, "l8");
    logger.flush_to(&mut out);
    assert_eq!(
        bodies(&out),
        [
            "INFO  t: l0",
            "INFO  t: l1",
            "INFO  t: l2",
            "INFO  t: l3",
            "WARN  hio_std::logger: 2 log lines dropped",
            "INFO  t: l6",
            "INFO  t: l7",
            "INFO  t: l8",
        ]
    );
    assert_eq!(logger.stats().dropped, 2);
}

#[test]
fn a_long_line_is_cut() {
    let logger = Logger::new(8).with_max_line(64);
    assert_eq!(logger.max_line(), 64);
    log_to(&logger, &"x".repeat(10_000));
    log_to(&logger, &"é".repeat(100)); // two bytes each: cut between them
    log_to(&logger, "short");
    let mut out = Vec::new();
    logger.flush_to(&mut out);
    let text = String::from_utf8(out).expect("UTF-8 after the cut");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for l in &lines[..2] {
        assert!(l.len() <= 64 && l.len() > 64 - 2 - CUT_MARK.len(), "{l}");
        assert!(l.ends_with(CUT_MARK), "{l}");
    }
    assert!(lines[0].contains(" t: xxx"));
    assert!(lines[1].contains(" t: ééé"));
    assert!(lines[2].ends_with(" t: short") && !lines[2].contains(CUT_MARK));

    // a limit too short for a line is raised
    assert_eq!(Logger::new(1).with_max_line(3).max_line(), MIN_MAX_LINE);
}

#[test]
fn a_record_is_one_line() {
    let logger = Logger::new(8);
    log_to(&logger, "two\nlines\r\x1b[0m");
    let mut out = Vec::new();
    logger.flush_to(&mut out);
    assert_eq!(bodies(&out), ["INFO  t: two\\nlines\\r\\x1b[0m"]);
}

/// Keeps what it is given and how many lines each flush ended.
#[derive(Default)]
struct Batches {
    data: Vec<u8>,
    lines_per_flush: Vec<usize>,
    unflushed: usize,
}

impl Write for Batches {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.unflushed += buf.iter().filter(|&&b| b == b'\n').count();
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.lines_per_flush
            .push(std::mem::take(&mut self.unflushed));
        Ok(())
    }
}

#[test]
fn each_pass_writes_at_most_per_pass_lines() {
    let logger = Logger::new(1000);
    for n in 0..250 {
        log_to(&logger, &format!("n{n}"));
    }
    let mut writer = LogDoer::with_writer(&logger, Batches::default())
        .with_per_pass(16)
        .with_tock(Tock::from_millis(100));
    let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(1)).expect("a positive tock");
    doist.add(&mut writer).expect("room");
    let mut written = 0;
    let mut passes = 0;
    while written < 250 {
        assert!(doist.pass().is_none());
        passes += 1;
        let now = logger.stats().written;
        // at most 16 a pass, and while behind it runs every pass (1 ms),
        // not every tock (100 ms)
        assert_eq!(now - written, 16.min(250 - written), "pass {passes}");
        written = now;
        if written < 250 {
            assert_eq!(doist.tyme().as_millis(), passes);
        }
    }
    assert_eq!(passes, 16); // ⌈250 / 16⌉
                            // caught up at 15 ms: back to its tock
    assert_eq!(doist.tyme().as_millis(), 115);
    doist.stop();
    let out = writer.into_writer();
    assert!(out.lines_per_flush.iter().all(|&n| n <= 16));
    let expected: Vec<String> = (0..250).map(|n| format!("INFO  t: n{n}")).collect();
    assert_eq!(bodies(&out.data), expected);
}

#[test]
fn a_parked_log_doer_is_woken_by_a_log_call() {
    static BOARD: WakeBoard<4> = WakeBoard::new();
    let logger = Logger::new(64);
    let waker = BOARD.waker().expect("a slot");
    let mut writer = Counting {
        inner: LogDoer::with_writer(&logger, Vec::new()).with_waker(waker),
        recurs: 0,
    };
    let mut talker = Talker {
        logger: Some(&logger),
        tock: Tock::from_secs(2),
        count: 5,
        n: 0,
    };
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(1))
        .expect("a positive tock")
        .with_limit(Tock::from_secs(20));
    doist.wakes(&BOARD);
    doist.add(&mut writer).expect("room");
    doist.add(&mut talker).expect("room");
    let mut clock = SimClock::new();
    assert_eq!(doist.run(&mut clock, None).end, End::Limit);
    let expected: Vec<String> = (0..5).map(|n| format!("INFO  t: talk {n}")).collect();
    assert_eq!(bodies(writer.inner.writer()), expected);
    // it ran at its entry and once per line (at 0, 2, 4, 6 and 8 s, a
    // tick after each), not every 10 ms for 20 s
    assert_eq!(writer.recurs, 6);
    assert!(clock.wakes() < 20, "{}", clock.wakes());

    // a log call from another thread wakes it between manual passes
    BOARD.reset();
    let logger = Logger::new(64);
    let waker = BOARD.waker().expect("a slot");
    let mut writer = LogDoer::with_writer(&logger, Vec::new()).with_waker(waker);
    let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(1)).expect("a positive tock");
    doist.wakes(&BOARD);
    doist.add(&mut writer).expect("room");
    assert!(doist.pass().is_none()); // enters; parks
    assert_eq!(logger.stats().written, 0);
    std::thread::scope(|s| {
        s.spawn(|| log_to(&logger, "from a thread"));
    });
    assert!(doist.pass().is_none());
    assert_eq!(logger.stats().written, 1);
    doist.stop();
    assert_eq!(bodies(writer.writer()), ["INFO  t: from a thread"]);
}

#[test]
fn a_waker_of_a_board_the_doist_does_not_drain_fails_enter() {
    static BOARD: WakeBoard<1> = WakeBoard::new();
    let logger = Logger::new(4);
    let mut writer =
        LogDoer::with_writer(&logger, Vec::new()).with_waker(BOARD.waker().expect("a slot"));
    let mut doist: Doist<'_, 1> = Doist::new(Tock::from_millis(1)).expect("a positive tock");
    doist.add(&mut writer).expect("room");
    let report = doist.run(&mut SimClock::new(), None);
    match report.end {
        End::Fault(f) => assert!(f.reason().contains("waker"), "{f}"),
        other => panic!("{other:?}"),
    }
}

/// A writer whose every write fails (a closed stderr).
struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_writer_counts_errors_and_the_doist_keeps_running() {
    let logger = Logger::new(16);
    let mut writer = LogDoer::with_writer(&logger, Broken);
    let mut talker = Counting {
        inner: Talker {
            logger: Some(&logger),
            tock: Tock::from_millis(10),
            count: u32::MAX,
            n: 0,
        },
        recurs: 0,
    };
    let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(10))
        .expect("a positive tock")
        .with_limit(Tock::from_secs(1));
    doist.add(&mut writer).expect("room");
    doist.add(&mut talker).expect("room");
    let report = doist.run(&mut SimClock::new(), None);
    assert_eq!(report.end, End::Limit);
    assert_eq!(talker.recurs, 100); // every 10 ms for 1 s
    let s = logger.stats();
    assert_eq!(s.logged, 100);
    assert_eq!((s.written, s.queued, s.dropped, s.lost), (0, 0, 0, 100));
    assert!(s.write_errors >= 99, "{s:?}"); // one a pass
}

#[test]
fn threads_log_at_once_and_keep_their_order() {
    let logger = Logger::new(4000);
    std::thread::scope(|s| {
        for t in 0..4 {
            let logger = &logger;
            s.spawn(move || {
                for n in 0..500 {
                    log_to(logger, &format!("{t} {n}"));
                }
            });
        }
    });
    let s = logger.stats();
    assert_eq!((s.logged, s.queued, s.dropped), (2000, 2000, 0));
    let mut out = Vec::new();
    assert_eq!(logger.flush_to(&mut out), 2000);
    let mut next = [0u32; 4];
    for body in bodies(&out) {
        let rest = body.strip_prefix("INFO  t: ").expect("a line of t");
        let (t, n) = rest.split_once(' ').expect("thread and number");
        let (t, n): (usize, u32) = (t.parse().expect("t"), n.parse().expect("n"));
        assert_eq!(next[t], n, "thread {t}");
        next[t] += 1;
    }
    assert_eq!(next, [500; 4]);
}
