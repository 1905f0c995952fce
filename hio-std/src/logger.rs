//! hio's asynchronous logging: a [`log`] facade logger whose log calls
//! never wait on I/O; a doer of the tree writes the lines out.
//!
//! - [`Logger`] implements [`log::Log`]. A record is formatted into a line
//!   (`   0.012345 INFO  hio_std::net: accepted 127.0.0.1:5555`: seconds
//!   since the logger was made, level, target, message) and queued in a
//!   bounded queue: at most [`capacity`](Logger::capacity) lines of at most
//!   [`max_line`](Logger::max_line) bytes each (a longer line is cut and
//!   ends with [`CUT_MARK`]). When the queue is full the record is dropped
//!   and counted; the next line written says how many were dropped. A log
//!   call takes a short lock and copies one line; it never waits on I/O,
//!   never panics (unless a `Display` in the record's arguments does), and
//!   may come from any thread.
//! - [`LogDoer`] is the doer that writes the queued lines out (to stderr by
//!   default, or any [`std::io::Write`]): at most
//!   [`per_pass`](LogDoer::with_per_pass) lines per recur, so a flood of
//!   logs cannot starve the tree, and everything left at its end (`clean`,
//!   `cease`, `exit`). It polls every [`DEFAULT_TOCK`], or, given a
//!   [`Waker`] ([`LogDoer::with_waker`]), parks until a line is queued.
//!   Write errors (a closed stderr) are counted, never raised.
//! - [`init`] installs a logger as the process's `log` logger.
//!
//! ```
//! use hio_core::{Doist, End, SimClock, Tock};
//! use hio_std::logger::{self, LogDoer};
//!
//! let logger = logger::init(log::LevelFilter::Info, 1024)?;
//! log::info!(target: "demo", "hello");
//! log::debug!(target: "demo", "not shown at Info");
//!
//! // Add the LogDoer first: it is ceased last, so it writes what the
//! // other doers log as they end.
//! let mut writer = LogDoer::with_writer(logger, Vec::new());
//! let mut doist: Doist<'_, 4> = Doist::new(Tock::from_millis(10))
//!     .expect("a positive tock")
//!     .with_limit(Tock::from_millis(100));
//! doist.add(&mut writer).expect("room");
//! let report = doist.run(&mut SimClock::new(), None);
//! assert_eq!(report.end, End::Limit);
//! drop(doist);
//!
//! let text = String::from_utf8(writer.into_writer()).expect("UTF-8");
//! assert!(text.ends_with(" INFO  demo: hello\n"), "{text}");
//! assert_eq!(logger.stats().written, 1);
//! assert!(logger::init(log::LevelFilter::Info, 1024).is_err()); // only once
//! # Ok::<(), logger::InitError>(())
//! ```
//!
//! In a real-time tree, park the LogDoer on a waker of the reactor's board:
//!
//! ```no_run
//! use hio_core::Doist;
//! use hio_std::logger::{self, LogDoer};
//! use hio_std::reactor::{Reactor, NET_TOCK};
//!
//! let logger = logger::init(log::LevelFilter::Info, logger::DEFAULT_CAPACITY)?;
//! let reactor = Reactor::new()?;
//! let mut writer = LogDoer::new(logger).with_waker(reactor.waker()?);
//! let mut doist: Doist<'_, 8> = Doist::new(NET_TOCK)?;
//! doist.wakes(reactor.board());
//! doist.add(&mut writer).map_err(|_| "full")?;
//! // ... add the other doers ...
//! doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
//! drop(doist);
//! logger.flush_to(&mut std::io::stderr()); // lines logged after the run
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use hio_core::{Cx, Doer, Fault, Step, Tock, Waker};
use log::{LevelFilter, Log, Metadata, Record};

/// The default number of lines a [`Logger`] queues.
pub const DEFAULT_CAPACITY: usize = 1024;

/// The default longest line, in bytes (without its newline), marker included.
pub const DEFAULT_MAX_LINE: usize = 512;

/// The shortest [`Logger::with_max_line`] accepts.
pub const MIN_MAX_LINE: usize = 32;

/// The default number of lines a [`LogDoer`] writes per recur.
pub const DEFAULT_PER_PASS: usize = 64;

/// How often a [`LogDoer`] without a waker runs by default.
pub const DEFAULT_TOCK: Tock = Tock::from_millis(10);

/// The end of a line that was cut at [`Logger::max_line`].
pub const CUT_MARK: &str = " [cut]";

/// The most bytes a batch buffer keeps between writes.
const KEEP_BATCH: usize = 64 * 1024;

/// The target of the lines that report dropped lines.
const SELF_TARGET: &str = "hio_std::logger";

/// The level filters, by their `usize` value.
const LEVELS: [LevelFilter; 6] = [
    LevelFilter::Off,
    LevelFilter::Error,
    LevelFilter::Warn,
    LevelFilter::Info,
    LevelFilter::Debug,
    LevelFilter::Trace,
];

thread_local! {
    /// Where a record is formatted before it is copied into the queue, so
    /// that no lock is held while user `Display` code runs. Its length
    /// never passes the logger's `max_line`.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The counters of a [`Logger`] (and of the [`LogDoer`]s draining it).
///
/// Every record that passed the level filter is, at any moment, in exactly
/// one of `queued`, `written`, `dropped` and `lost`: `logged == queued +
/// written + dropped + lost` whenever no log call and no write is under
/// way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogStats {
    /// Records that passed the level filter.
    pub logged: u64,
    /// Lines in the queue now.
    pub queued: u64,
    /// Lines written out (lines reporting drops not counted).
    pub written: u64,
    /// Records dropped: the queue was full (or a record was logged while
    /// the same thread was formatting one for this logger).
    pub dropped: u64,
    /// Lines taken from the queue whose write failed.
    pub lost: u64,
    /// Failed writes (or flushes) of the writer; each may lose several
    /// lines.
    pub write_errors: u64,
}

/// One line of the queue.
#[derive(Debug, Default)]
struct Line {
    /// The text, without newline; its capacity is kept for the next line.
    text: Vec<u8>,
    /// Records dropped just before this one.
    dropped_before: u64,
    /// When the first of them was dropped.
    dropped_at: Duration,
}

/// The bounded queue: a ring of lines whose buffers are reused.
#[derive(Debug)]
struct Ring {
    lines: Box<[Line]>,
    head: usize,
    len: usize,
    /// Records dropped since the last queued line.
    gap: u64,
    /// When the first of them was dropped.
    gap_at: Duration,
    /// Woken when a line goes into the empty queue.
    waker: Option<Waker>,
}

/// A [`log::Log`] that queues formatted lines for a [`LogDoer`] to write:
/// bounded in lines and in bytes per line, never blocking on I/O.
///
/// Install one with [`init`], or make one with [`Logger::new`] and call
/// [`Log::log`] on it directly (tests, several trees).
///
/// ```
/// use log::{Level, Log, Record};
/// use hio_std::logger::Logger;
///
/// let logger = Logger::new(2);
/// for n in 0..3 {
///     logger.log(&Record::builder().level(Level::Warn).target("t")
///         .args(format_args!("line {n}")).build());
/// }
/// let stats = logger.stats();
/// assert_eq!((stats.queued, stats.dropped), (2, 1)); // the third did not fit
///
/// let mut out = Vec::new();
/// assert_eq!(logger.flush_to(&mut out), 2);
/// let text = String::from_utf8(out).unwrap();
/// let lines: Vec<&str> = text.lines().collect();
/// assert!(lines[0].ends_with(" WARN  t: line 0"));
/// assert!(lines[1].ends_with(" WARN  t: line 1"));
/// assert!(lines[2].ends_with(" WARN  hio_std::logger: 1 log line dropped"));
/// ```
pub struct Logger {
    ring: Mutex<Ring>,
    start: Instant,
    level: AtomicUsize,
    max_line: usize,
    logged: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    lost: AtomicU64,
    write_errors: AtomicU64,
}

impl Logger {
    /// A logger that queues up to `capacity` lines (at least one) of up to
    /// [`DEFAULT_MAX_LINE`] bytes, passing every level (see
    /// [`set_level`](Logger::set_level)). Its clock starts now.
    ///
    /// The ring of `capacity` lines is made now; each line's buffer grows
    /// to the longest line it held (at most [`max_line`](Logger::max_line)
    /// bytes) and is then reused, so the queue never holds more than about
    /// `capacity × max_line` bytes and a steady flow of logs allocates
    /// nothing.
    pub fn new(capacity: usize) -> Logger {
        let lines = (0..capacity.max(1)).map(|_| Line::default()).collect();
        Logger {
            ring: Mutex::new(Ring {
                lines,
                head: 0,
                len: 0,
                gap: 0,
                gap_at: Duration::ZERO,
                waker: None,
            }),
            start: Instant::now(),
            level: AtomicUsize::new(LevelFilter::Trace as usize),
            max_line: DEFAULT_MAX_LINE,
            logged: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
        }
    }

    /// Cuts lines at `max_line` bytes (at least [`MIN_MAX_LINE`]), the
    /// [`CUT_MARK`] included, the newline not.
    pub fn with_max_line(mut self, max_line: usize) -> Logger {
        self.max_line = max_line.max(MIN_MAX_LINE);
        self
    }

    /// Passes records of `level` and more severe only. (The `log` macros
    /// also check the global [`log::max_level`]; [`init`] sets both.)
    pub fn set_level(&self, level: LevelFilter) {
        self.level.store(level as usize, Relaxed);
    }

    /// The level set with [`set_level`](Logger::set_level).
    pub fn level(&self) -> LevelFilter {
        LEVELS
            .get(self.level.load(Relaxed))
            .copied()
            .unwrap_or(LevelFilter::Trace)
    }

    /// Wakes `waker` whenever a line goes into the empty queue (replacing
    /// an earlier one); `None` stops it. A [`LogDoer`] made
    /// [`with_waker`](LogDoer::with_waker) sets this itself.
    pub fn set_waker(&self, waker: Option<Waker>) {
        self.lock().waker = waker;
    }

    /// How many lines the queue holds at most.
    pub fn capacity(&self) -> usize {
        self.lock().lines.len()
    }

    /// The longest line, in bytes.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// How many lines are queued now.
    pub fn queued(&self) -> usize {
        self.lock().len
    }

    /// Its counters.
    pub fn stats(&self) -> LogStats {
        LogStats {
            logged: self.logged.load(Relaxed),
            queued: self.queued() as u64,
            written: self.written.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            lost: self.lost.load(Relaxed),
            write_errors: self.write_errors.load(Relaxed),
        }
    }

    /// Writes up to `max` queued lines to `out` (and a line reporting
    /// dropped lines where some were dropped), then flushes it. Returns how
    /// many lines it took from the queue, written or lost to a write error.
    ///
    /// The lock is not held while writing; `out` may block (a
    /// [`LogDoer`] calls this in its recur).
    pub fn drain_to<W: Write + ?Sized>(&self, out: &mut W, max: usize) -> usize {
        let mut buf = Vec::new();
        self.drain_with(out, max, &mut buf).0
    }

    /// Writes every line queued now to `out`, in batches of
    /// [`DEFAULT_PER_PASS`]; returns how many it took. For what was logged
    /// after the last LogDoer ended (a binary's last words). At most
    /// [`capacity`](Logger::capacity) lines, however fast other threads
    /// log meanwhile.
    pub fn flush_to<W: Write + ?Sized>(&self, out: &mut W) -> usize {
        let mut buf = Vec::new();
        self.flush_with(out, DEFAULT_PER_PASS, &mut buf)
    }

    fn flush_with<W: Write + ?Sized>(&self, out: &mut W, batch: usize, buf: &mut Vec<u8>) -> usize {
        let mut left = self.capacity();
        let mut taken = 0;
        loop {
            let (n, more) = self.drain_with(out, batch.min(left).max(1), buf);
            taken += n;
            left = left.saturating_sub(n);
            if !more || left == 0 {
                return taken;
            }
        }
    }

    /// [`drain_to`](Logger::drain_to) through `buf` (kept between calls);
    /// also says whether lines are left.
    fn drain_with<W: Write + ?Sized>(
        &self,
        out: &mut W,
        max: usize,
        buf: &mut Vec<u8>,
    ) -> (usize, bool) {
        buf.clear();
        let (taken, more) = self.take(max, buf);
        if !buf.is_empty() {
            match out.write_all(buf).and_then(|()| out.flush()) {
                Ok(()) => {
                    self.written.fetch_add(taken as u64, Relaxed);
                }
                Err(_) => {
                    self.write_errors.fetch_add(1, Relaxed);
                    self.lost.fetch_add(taken as u64, Relaxed);
                }
            }
        }
        // a batch kept for the next pass is not kept larger than this
        buf.clear();
        buf.shrink_to(KEEP_BATCH);
        (taken, more)
    }

    /// Moves up to `max` lines from the queue into `buf`, each with its
    /// newline, with the reports of dropped lines; returns how many lines
    /// it took and whether lines are left.
    fn take(&self, max: usize, buf: &mut Vec<u8>) -> (usize, bool) {
        let mut ring = self.lock();
        let cap = ring.lines.len();
        let mut taken = 0;
        while taken < max && ring.len > 0 {
            let head = ring.head;
            if let Some(line) = ring.lines.get_mut(head) {
                if line.dropped_before > 0 {
                    dropped_line(buf, line.dropped_at, line.dropped_before, self.max_line);
                    line.dropped_before = 0;
                }
                buf.extend_from_slice(&line.text);
                buf.push(b'\n');
                line.text.clear();
            }
            ring.head = (head + 1) % cap;
            ring.len -= 1;
            taken += 1;
        }
        if ring.len == 0 && ring.gap > 0 {
            dropped_line(buf, ring.gap_at, ring.gap, self.max_line);
            ring.gap = 0;
        }
        (taken, ring.len > 0)
    }

    /// Queues a formatted line; wakes the waker if the queue was empty.
    fn push(&self, text: &[u8], at: Duration) {
        let waker = {
            let mut ring = self.lock();
            let cap = ring.lines.len();
            if ring.len >= cap {
                Self::gap(&mut ring, at);
                drop(ring);
                self.dropped.fetch_add(1, Relaxed);
                return;
            }
            let at_index = (ring.head + ring.len) % cap;
            let (gap, gap_at) = (ring.gap, ring.gap_at);
            if let Some(line) = ring.lines.get_mut(at_index) {
                line.text.clear();
                line.text.reserve_exact(text.len());
                line.text.extend_from_slice(text);
                line.dropped_before = gap;
                line.dropped_at = gap_at;
            }
            ring.gap = 0;
            ring.len += 1;
            if ring.len == 1 {
                ring.waker
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Counts a record dropped without reaching the queue.
    fn drop_record(&self, at: Duration) {
        Self::gap(&mut self.lock(), at);
        self.dropped.fetch_add(1, Relaxed);
    }

    fn gap(ring: &mut Ring, at: Duration) {
        if ring.gap == 0 {
            ring.gap_at = at;
        }
        ring.gap += 1;
    }

    /// The queue, poisoned or not: every change to it is complete before
    /// any code that could panic runs, so a poisoned one is sound.
    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        self.logged.fetch_add(1, Relaxed);
        let at = self.start.elapsed();
        let queued = SCRATCH.try_with(|scratch| {
            // busy: this thread is formatting a record already (a
            // `Display` that logs); that record is dropped
            let Ok(mut buf) = scratch.try_borrow_mut() else {
                return false;
            };
            buf.clear();
            let mut cut = Cut::new(&mut buf, self.max_line);
            let _ = fmt::write(
                &mut cut,
                format_args!(
                    "{} {:<5} {}: {}",
                    Stamp(at),
                    record.level().as_str(),
                    record.target(),
                    record.args()
                ),
            );
            cut.finish();
            self.push(&buf, at);
            // a buffer grown by a logger with a very long limit is given back
            buf.clear();
            buf.shrink_to(KEEP_BATCH);
            true
        });
        if !matches!(queued, Ok(true)) {
            self.drop_record(at);
        }
    }

    /// Does nothing: the [`LogDoer`] writes and flushes. Use
    /// [`flush_to`](Logger::flush_to) outside a run.
    fn flush(&self) {}
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("capacity", &self.capacity())
            .field("max_line", &self.max_line)
            .field("level", &self.level())
            .field("stats", &self.stats())
            .finish()
    }
}

/// Seconds since the logger started, to the microsecond: `   1.234567`.
struct Stamp(Duration);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>4}.{:06}", self.0.as_secs(), self.0.subsec_micros())
    }
}

/// Appends the line that reports `n` dropped records to `buf`.
fn dropped_line(buf: &mut Vec<u8>, at: Duration, n: u64, max_line: usize) {
    let start = buf.len();
    let s = if n == 1 { "" } else { "s" };
    let _ = write!(
        buf,
        "{} {:<5} {SELF_TARGET}: {n} log line{s} dropped",
        Stamp(at),
        "WARN"
    );
    buf.truncate(start.saturating_add(max_line));
    buf.push(b'\n');
}

/// A `fmt::Write` into a line of at most `max` bytes: text past the limit
/// is left out and the line ends with [`CUT_MARK`]; control characters
/// other than tab are escaped (`\n`, `\r`, `\x1b`), so one record is one
/// line.
struct Cut<'b> {
    buf: &'b mut Vec<u8>,
    /// Room for text: `max` less the marker.
    room: usize,
    cut: bool,
}

impl<'b> Cut<'b> {
    fn new(buf: &'b mut Vec<u8>, max: usize) -> Self {
        Cut {
            buf,
            room: max.saturating_sub(CUT_MARK.len()),
            cut: false,
        }
    }

    /// Appends `s` (free of control characters), cut at the room left.
    fn put(&mut self, s: &str) {
        if self.cut {
            return;
        }
        let left = self.room.saturating_sub(self.buf.len());
        if s.len() <= left {
            self.buf.extend_from_slice(s.as_bytes());
            return;
        }
        let mut end = left;
        while end > 0 && !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf
            .extend_from_slice(s.as_bytes().get(..end).unwrap_or_default());
        self.cut = true;
    }

    /// Ends the line with the marker if it was cut.
    fn finish(self) {
        if self.cut {
            self.buf.extend_from_slice(CUT_MARK.as_bytes());
        }
    }
}

impl fmt::Write for Cut<'_> {
    fn write_str(&mut self, mut s: &str) -> fmt::Result {
        // Ok even when cut: a `Display` that unwraps its writes must not
        // panic here
        while !self.cut {
            let Some(i) = s.find(|c: char| c.is_ascii_control() && c != '\t') else {
                self.put(s);
                break;
            };
            let (text, rest) = s.split_at(i);
            self.put(text);
            let c = rest.as_bytes().first().copied().unwrap_or(0);
            match c {
                b'\n' => self.put("\\n"),
                b'\r' => self.put("\\r"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let hex = [
                        b'\\',
                        b'x',
                        HEX[usize::from(c >> 4)],
                        HEX[usize::from(c & 0xf)],
                    ];
                    self.put(std::str::from_utf8(&hex).unwrap_or("?"));
                }
            }
            s = rest.get(1..).unwrap_or_default();
        }
        Ok(())
    }
}

/// [`init`] could not install the logger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitError {
    /// `init` was called before: it installs one logger per process. Keep
    /// the handle it returned.
    AlreadyInstalled,
    /// Another `log` logger was installed (with [`log::set_logger`]) before.
    OtherLogger,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InitError::AlreadyInstalled => {
                "hio's logger is already installed: `logger::init` may be called once per process"
            }
            InitError::OtherLogger => {
                "another `log` logger was installed before hio's: `log::set_logger` may be called once per process"
            }
        })
    }
}

impl std::error::Error for InitError {}

/// The logger [`init`] installed (or tried to).
static INSTALLED: OnceLock<Logger> = OnceLock::new();

/// Installs a [`Logger`] of `capacity` lines as the process's `log` logger,
/// passing `level` and more severe records (it sets [`log::set_max_level`]
/// too); returns it, to give to a [`LogDoer`]. Call it once, early in
/// `main`: a second call returns [`InitError::AlreadyInstalled`].
///
/// To change the level later, call [`Logger::set_level`] and
/// [`log::set_max_level`].
///
/// ```
/// use hio_std::logger::{self, InitError};
/// let logger = logger::init(log::LevelFilter::Warn, 256).unwrap();
/// assert_eq!(logger.level(), log::LevelFilter::Warn);
/// assert_eq!(log::max_level(), log::LevelFilter::Warn);
/// let again = logger::init(log::LevelFilter::Info, 256).unwrap_err();
/// assert_eq!(again, InitError::AlreadyInstalled);
/// assert!(again.to_string().contains("once per process"));
/// ```
pub fn init(level: LevelFilter, capacity: usize) -> Result<&'static Logger, InitError> {
    let mut fresh = false;
    let logger = INSTALLED.get_or_init(|| {
        fresh = true;
        Logger::new(capacity)
    });
    if !fresh {
        return Err(InitError::AlreadyInstalled);
    }
    logger.set_level(level);
    log::set_logger(logger).map_err(|_| InitError::OtherLogger)?;
    log::set_max_level(level);
    Ok(logger)
}

/// The logger [`init`] installed, if any: what a tool adds a [`LogDoer`]
/// for.
pub fn installed() -> Option<&'static Logger> {
    INSTALLED.get()
}

/// The doer that writes a [`Logger`]'s lines out: at most
/// [`per_pass`](LogDoer::with_per_pass) lines per recur, and everything
/// left when it ends (`clean`, `cease`, `exit`). It never ends by itself
/// and never fails: a failed write is counted in
/// [`LogStats::write_errors`] (and its lines in [`LogStats::lost`]).
///
/// Without a waker it runs every [`tock`](LogDoer::with_tock) (default
/// [`DEFAULT_TOCK`]); given one ([`with_waker`](LogDoer::with_waker)) it
/// attaches it in `enter`, hands it to the logger, and parks while the
/// queue is empty. While lines are left after a recur it runs again at the
/// next pass.
///
/// Add it to the Doist first: it is ceased last, so it writes what the
/// other doers log as they end. The writer may block (stderr on a full
/// pipe); the loggers never do.
///
/// ```
/// use hio_core::{Doist, SimClock, Tock, WakeBoard};
/// use hio_std::logger::{LogDoer, Logger};
/// use log::{Level, Log, Record};
///
/// static BOARD: WakeBoard<2> = WakeBoard::new();
/// let logger = Logger::new(64);
/// let mut writer = LogDoer::with_writer(&logger, Vec::new())
///     .with_waker(BOARD.waker().unwrap());
/// let mut doist: Doist<'_, 2> = Doist::new(Tock::from_millis(1)).unwrap();
/// doist.wakes(&BOARD);
/// doist.add(&mut writer).unwrap();
/// doist.pass(); // enters; nothing queued, so it parks
/// logger.log(&Record::builder().level(Level::Info).target("app")
///     .args(format_args!("ready")).build()); // wakes it
/// doist.pass();
/// assert_eq!(logger.stats().written, 1);
/// doist.stop();
/// drop(doist);
/// assert!(String::from_utf8(writer.into_writer()).unwrap().ends_with("INFO  app: ready\n"));
/// ```
pub struct LogDoer<'l, W: Write = io::Stderr> {
    logger: &'l Logger,
    out: W,
    per_pass: usize,
    tock: Tock,
    waker: Option<Waker>,
    /// Lines were left after the last recur.
    more: bool,
    /// The batch being written, kept between recurs.
    buf: Vec<u8>,
}

impl<'l> LogDoer<'l, io::Stderr> {
    /// A LogDoer writing `logger`'s lines to stderr.
    pub fn new(logger: &'l Logger) -> Self {
        Self::with_writer(logger, io::stderr())
    }
}

impl<'l, W: Write> LogDoer<'l, W> {
    /// A LogDoer writing `logger`'s lines to `out`.
    pub fn with_writer(logger: &'l Logger, out: W) -> Self {
        LogDoer {
            logger,
            out,
            per_pass: DEFAULT_PER_PASS,
            tock: DEFAULT_TOCK,
            waker: None,
            more: false,
            buf: Vec::new(),
        }
    }

    /// Writes at most `n` lines (at least one) per recur.
    pub fn with_per_pass(mut self, n: usize) -> Self {
        self.per_pass = n.max(1);
        self
    }

    /// Runs every `tock` (without a waker).
    pub fn with_tock(mut self, tock: Tock) -> Self {
        self.tock = tock;
        self
    }

    /// Parks while the queue is empty and is woken through `waker` when a
    /// line is queued. The Doist must drain `waker`'s board
    /// ([`Doist::wakes`](hio_core::Doist::wakes)), or `enter` fails.
    pub fn with_waker(mut self, waker: Waker) -> Self {
        self.waker = Some(waker);
        self
    }

    /// The logger it drains.
    pub fn logger(&self) -> &'l Logger {
        self.logger
    }

    /// The logger's counters.
    pub fn stats(&self) -> LogStats {
        self.logger.stats()
    }

    /// Its writer.
    pub fn writer(&self) -> &W {
        &self.out
    }

    /// Its writer, mutably.
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Gives its writer back.
    pub fn into_writer(self) -> W {
        self.out
    }

    /// Writes everything queued now.
    fn flush(&mut self) {
        self.logger
            .flush_with(&mut self.out, self.per_pass, &mut self.buf);
        self.more = false;
    }
}

impl<W: Write> Doer for LogDoer<'_, W> {
    fn name(&self) -> &str {
        "logger"
    }

    fn tock(&self) -> Tock {
        if self.more {
            Tock::ZERO
        } else if self.waker.is_some() {
            Tock::NEVER
        } else {
            self.tock
        }
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        if let Some(w) = self.waker {
            cx.attach(w).map_err(|_| {
                Fault::failed("logger: cannot attach its waker (give its board to the Doist)")
            })?;
            self.logger.set_waker(Some(w));
        }
        Ok(Step::Continue)
    }

    fn recur(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        // its tock changes from one recur to the next
        cx.retock();
        let (_, more) = self
            .logger
            .drain_with(&mut self.out, self.per_pass, &mut self.buf);
        self.more = more;
        Ok(Step::Continue)
    }

    fn clean(&mut self, _cx: &mut Cx<'_>) {
        self.flush();
    }

    fn cease(&mut self, _cx: &mut Cx<'_>) {
        self.flush();
    }

    fn abort(&mut self, _cx: &mut Cx<'_>) {
        self.flush();
    }

    fn exit(&mut self, _cx: &mut Cx<'_>) {
        self.flush();
        if let Some(w) = self.waker {
            let mut ring = self.logger.lock();
            if ring.waker.is_some_and(|current| current.same(&w)) {
                ring.waker = None;
            }
        }
    }
}

impl<W: Write> fmt::Debug for LogDoer<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogDoer")
            .field("logger", self.logger)
            .field("per_pass", &self.per_pass)
            .field("tock", &self.tock)
            .field("waker", &self.waker)
            .field("more", &self.more)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Level;

    fn log(logger: &Logger, msg: &str) {
        logger.log(
            &Record::builder()
                .level(Level::Info)
                .target("t")
                .args(format_args!("{msg}"))
                .build(),
        );
    }

    #[test]
    fn a_poisoned_queue_is_still_used() {
        let logger = Logger::new(4);
        std::thread::scope(|s| {
            let _ = s
                .spawn(|| {
                    let _guard = logger.ring.lock();
                    panic!("poison the queue");
                })
                .join();
        });
        assert!(logger.ring.is_poisoned());
        log(&logger, "after");
        let mut out = Vec::new();
        assert_eq!(logger.drain_to(&mut out, 10), 1);
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("INFO  t: after\n"));
    }

    #[test]
    fn a_record_logged_while_formatting_one_is_dropped() {
        struct Nested<'a>(&'a Logger);
        impl fmt::Display for Nested<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                log(self.0, "inner");
                f.write_str("outer")
            }
        }
        let logger = Logger::new(4);
        logger.log(
            &Record::builder()
                .level(Level::Info)
                .target("t")
                .args(format_args!("{}", Nested(&logger)))
                .build(),
        );
        let s = logger.stats();
        assert_eq!((s.logged, s.queued, s.dropped), (2, 1, 1));
        let mut out = Vec::new();
        logger.flush_to(&mut out);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].ends_with("hio_std::logger: 1 log line dropped"));
        assert!(lines[1].ends_with("INFO  t: outer"));
    }

    #[test]
    fn control_characters_are_escaped() {
        let logger = Logger::new(4);
        log(&logger, "a\nb\r\x1b[31mc\td");
        let mut out = Vec::new();
        logger.flush_to(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("t: a\\nb\\r\\x1b[31mc\td\n"), "{text:?}");
    }
}
