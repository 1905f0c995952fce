//! Recording and replay: [`Recorded`] wraps the bridge's two edges (its
//! device and its clients) and writes every answer they give into the wire
//! log, in order; in a replay the same type gives the recorded answers
//! back, so the bridge's doers run again exactly as they ran live.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::RawFd;

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};
use hio_core::Waker;
use serde_json::{json, Value};

use super::clients::{ClientEvent, ClientId, Clients};
use super::wirelog::{hex, unhex, WireLog};
use crate::tty::{Device, TtyError};

/// Bytes read from the device at once, at most: what a [`Tty`](crate::tty::Tty)
/// reads at once, so a chunk is what one read of the system gave.
const CHUNK: usize = crate::tty::READ_CHUNK;

/// The recorded answers of a live run, in order, for a replay.
#[derive(Debug, Default)]
pub struct Answers {
    queue: RefCell<VecDeque<(String, Value)>>,
    diverged: RefCell<Option<String>>,
}

impl Answers {
    /// Answers to give back in this order: (kind, value).
    pub fn new(answers: VecDeque<(String, Value)>) -> Self {
        Answers {
            queue: RefCell::new(answers),
            diverged: RefCell::new(None),
        }
    }

    /// The first place the replay asked for something the live run did
    /// not (the replay went another way), if any.
    pub fn diverged(&self) -> Option<String> {
        self.diverged.borrow().clone()
    }

    /// Answers not asked for.
    pub fn left(&self) -> usize {
        self.queue.borrow().len()
    }

    fn take(&self, kind: &str) -> Option<Value> {
        let mut q = self.queue.borrow_mut();
        match q.front() {
            Some((k, _)) if k == kind => q.pop_front().map(|(_, v)| v),
            other => {
                let mut d = self.diverged.borrow_mut();
                if d.is_none() {
                    *d = Some(format!(
                        "the replay asked for `{kind}`, the live run had {}",
                        match other {
                            Some((k, _)) => format!("`{k}`"),
                            None => "nothing more".into(),
                        }
                    ));
                }
                None
            }
        }
    }
}

/// Where a [`Recorded`] edge's answers go, or come from.
#[derive(Clone, Copy)]
pub enum Tape<'a> {
    /// A live run, not recorded.
    Off,
    /// A live run: the answers are written to the wire log.
    Record(&'a RefCell<WireLog>),
    /// A replay: the answers come from the log.
    Replay(&'a Answers),
}

impl fmt::Debug for Tape<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tape::Off => "Off",
            Tape::Record(_) => "Record",
            Tape::Replay(_) => "Replay",
        })
    }
}

/// An edge of the bridge (a [`Device`] or the [`Clients`]) whose answers
/// are recorded (live, `inner` is the real edge) or replayed (`inner` is
/// `None`).
///
/// A device's reads are recorded a chunk at a time (what one read of the
/// system gave), not a byte at a time as the SerialDoer asks for them.
#[derive(Debug)]
pub struct Recorded<'a, T> {
    inner: Option<T>,
    tape: Tape<'a>,
    /// A device's bytes read and not yet handed on: `buf[pos..end]`.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// A fill found nothing since the flags were cleared.
    empty: bool,
    /// The last chunk was shorter than asked for since the flags were
    /// cleared: the device was drained.
    drained: bool,
}

impl<'a, T> Recorded<'a, T> {
    /// `inner`, its answers written to `log` (or not recorded: `None`).
    pub fn record(inner: T, log: Option<&'a RefCell<WireLog>>) -> Self {
        Recorded {
            inner: Some(inner),
            tape: log.map_or(Tape::Off, Tape::Record),
            buf: Vec::new(),
            pos: 0,
            end: 0,
            empty: false,
            drained: false,
        }
    }

    /// An edge answering from `answers`.
    pub fn replay(answers: &'a Answers) -> Self {
        Recorded {
            inner: None,
            tape: Tape::Replay(answers),
            buf: Vec::new(),
            pos: 0,
            end: 0,
            empty: false,
            drained: false,
        }
    }
}

/// Asks the live edge (recording its answer) or the tape.
fn ask<R>(
    tape: Tape<'_>,
    kind: &str,
    live: impl FnOnce() -> Option<R>,
    enc: impl FnOnce(&R) -> Value,
    dec: impl FnOnce(&Value) -> Option<R>,
    fallback: R,
) -> R {
    match tape {
        Tape::Off => live().unwrap_or(fallback),
        Tape::Record(log) => {
            let r = live().unwrap_or(fallback);
            log.borrow_mut().io(kind, enc(&r));
            r
        }
        Tape::Replay(answers) => answers.take(kind).and_then(|v| dec(&v)).unwrap_or(fallback),
    }
}

fn code(e: &TtyError) -> String {
    match e {
        TtyError::NotFound => "NotFound".into(),
        TtyError::PermissionDenied => "PermissionDenied".into(),
        TtyError::NotATty => "NotATty".into(),
        TtyError::Busy => "Busy".into(),
        TtyError::Baud(b) => format!("Baud:{b}"),
        TtyError::Lost => "Lost".into(),
        TtyError::Full => "Full".into(),
        TtyError::NoPty => "NoPty".into(),
        TtyError::Io(_) => "Io".into(),
    }
}

fn uncode(v: &Value) -> Option<TtyError> {
    let s = v.as_str()?;
    Some(match s {
        "NotFound" => TtyError::NotFound,
        "PermissionDenied" => TtyError::PermissionDenied,
        "NotATty" => TtyError::NotATty,
        "Busy" => TtyError::Busy,
        "Lost" => TtyError::Lost,
        "Full" => TtyError::Full,
        "NoPty" => TtyError::NoPty,
        s => match s.strip_prefix("Baud:").and_then(|b| b.parse().ok()) {
            Some(b) => TtyError::Baud(b),
            None => TtyError::Io(io::ErrorKind::Other),
        },
    })
}

fn enc_result<T>(r: &Result<T, TtyError>, ok: impl FnOnce(&T) -> Value) -> Value {
    match r {
        Ok(v) => json!({ "ok": ok(v) }),
        Err(e) => json!({ "err": code(e) }),
    }
}

fn dec_result<T>(v: &Value, ok: impl FnOnce(&Value) -> Option<T>) -> Option<Result<T, TtyError>> {
    match v.get("err") {
        Some(e) => uncode(e).map(Err),
        None => ok(v.get("ok")?).map(Ok),
    }
}

impl<T: ErrorType<Error = TtyError>> ErrorType for Recorded<'_, T> {
    type Error = TtyError;
}

impl<T: Device> Recorded<'_, T> {
    /// Refills the buffer with one chunk from the device if it is empty;
    /// whether it has a byte.
    ///
    /// A chunk shorter than asked for drained the device (a tty or a
    /// socket hands over all it holds, and a byte arriving after that
    /// read wakes the edge-triggered poll): until the flags are cleared
    /// (the next pass of the device's doer) it is not asked again, which
    /// saves a read that would find nothing.
    #[inline(never)]
    fn fill(&mut self) -> Result<bool, TtyError> {
        if self.pos < self.end {
            return Ok(true);
        }
        self.pos = 0;
        self.end = 0;
        if self.drained {
            self.empty = true;
            return Ok(false);
        }
        let got = match self.tape {
            Tape::Replay(answers) => {
                let chunk = answers
                    .take("fill")
                    .and_then(|v| dec_result(&v, |h| h.as_str().and_then(unhex)))
                    .unwrap_or(Ok(Vec::new()));
                chunk.map(|b| {
                    self.buf = b;
                    self.buf.len()
                })
            }
            Tape::Off | Tape::Record(_) => {
                // read straight into the buffer, kept from chunk to chunk
                if self.buf.len() < CHUNK {
                    self.buf.resize(CHUNK, 0);
                }
                let got = match self.inner.as_mut() {
                    Some(d) => match d.read_ready() {
                        Ok(true) => d.read(&mut self.buf),
                        Ok(false) => Ok(0),
                        Err(e) => Err(e),
                    },
                    None => Ok(0),
                };
                if let Tape::Record(log) = self.tape {
                    let chunk = got.map(|n| self.buf.get(..n).unwrap_or(&[]));
                    log.borrow_mut()
                        .io("fill", enc_result(&chunk, |b| json!(hex(b))));
                }
                got
            }
        };
        let n = got?;
        self.end = n.min(self.buf.len());
        self.drained = n < CHUNK;
        if self.end == 0 {
            self.empty = true;
            return Ok(false);
        }
        Ok(true)
    }
}

impl<T: Device> ReadReady for Recorded<'_, T> {
    #[inline]
    fn read_ready(&mut self) -> Result<bool, TtyError> {
        // asked before every byte: bytes in the buffer answer at once
        if self.pos < self.end {
            return Ok(true);
        }
        self.fill()
    }
}

impl<T: Device> Read for Recorded<'_, T> {
    #[inline]
    fn read(&mut self, out: &mut [u8]) -> Result<usize, TtyError> {
        if out.is_empty() || (self.pos >= self.end && !self.fill()?) {
            return Ok(0);
        }
        let n = (self.end - self.pos).min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), self.buf.get(self.pos..self.pos + n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

impl<T: Device> WriteReady for Recorded<'_, T> {
    fn write_ready(&mut self) -> Result<bool, TtyError> {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "write_ready",
            || inner.as_mut().map(|d| d.write_ready()),
            |r| enc_result(r, |b| json!(b)),
            |v| dec_result(v, Value::as_bool),
            Ok(false),
        )
    }
}

impl<T: Device> Write for Recorded<'_, T> {
    fn write(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "write",
            || inner.as_mut().map(|d| d.write(bytes)),
            |r| enc_result(r, |n| json!(n)),
            |v| dec_result(v, |n| n.as_u64().map(|n| n as usize)),
            Err(TtyError::Lost),
        )
    }

    fn flush(&mut self) -> Result<(), TtyError> {
        match self.inner.as_mut() {
            Some(d) => d.flush(),
            None => Ok(()),
        }
    }
}

impl<T: Device> Device for Recorded<'_, T> {
    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.as_ref().and_then(|d| d.raw_fd())
    }

    fn lost(&self) -> Option<TtyError> {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "lost",
            || inner.as_ref().map(|d| d.lost()),
            |r| r.as_ref().map_or(Value::Null, |e| json!(code(e))),
            |v| Some(if v.is_null() { None } else { uncode(v) }),
            None,
        )
    }

    fn close(&mut self) {
        self.pos = 0;
        self.end = 0;
        if let Some(d) = self.inner.as_mut() {
            d.close();
        }
    }

    fn reopen(&mut self) -> Result<(), TtyError> {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "reopen",
            || inner.as_mut().map(|d| d.reopen()),
            |r| r.as_ref().err().map_or(Value::Null, |e| json!(code(e))),
            |v| {
                Some(match v.is_null() {
                    true => Ok(()),
                    false => Err(uncode(v).unwrap_or(TtyError::Lost)),
                })
            },
            Err(TtyError::Lost),
        )
    }

    fn clear_flags(&mut self) {
        self.empty = false;
        self.drained = false;
        if let Some(d) = self.inner.as_mut() {
            d.clear_flags();
        }
    }

    fn read_empty(&self) -> bool {
        self.empty && self.pos >= self.end
    }

    fn label(&self) -> Option<String> {
        self.inner.as_ref().and_then(|d| d.label())
    }

    fn probe_reads(&mut self, on: bool) {
        if let Some(d) = self.inner.as_mut() {
            d.probe_reads(on);
        }
    }

    fn write_now(&mut self, bytes: &[u8]) -> Result<usize, TtyError> {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "write_now",
            || inner.as_mut().map(|d| d.write_now(bytes)),
            |r| enc_result(r, |n| json!(n)),
            |v| dec_result(v, |n| n.as_u64().map(|n| n as usize)),
            Err(TtyError::Lost),
        )
    }
}

fn enc_id(id: &ClientId) -> Value {
    json!([id.slot, id.gen])
}

fn dec_id(v: &Value) -> Option<ClientId> {
    Some(ClientId {
        slot: u32::try_from(v.get(0)?.as_u64()?).ok()?,
        gen: u32::try_from(v.get(1)?.as_u64()?).ok()?,
    })
}

fn enc_event(e: &Option<ClientEvent>) -> Value {
    match e {
        None => Value::Null,
        Some(ClientEvent::Opened(id, peer)) => json!({ "open": enc_id(id), "peer": peer }),
        Some(ClientEvent::Ready(id)) => json!({ "ready": enc_id(id) }),
        Some(ClientEvent::Closed(id, reason)) => {
            json!({ "closed": enc_id(id), "reason": reason })
        }
    }
}

fn dec_event(v: &Value) -> Option<Option<ClientEvent>> {
    if v.is_null() {
        return Some(None);
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(id) = v.get("open").and_then(dec_id) {
        return Some(Some(ClientEvent::Opened(id, text("peer"))));
    }
    if let Some(id) = v.get("ready").and_then(dec_id) {
        return Some(Some(ClientEvent::Ready(id)));
    }
    let id = v.get("closed").and_then(dec_id)?;
    Some(Some(ClientEvent::Closed(id, text("reason"))))
}

fn usize_of(v: &Value) -> Option<usize> {
    v.as_u64().and_then(|n| usize::try_from(n).ok())
}

impl<C: Clients> Clients for Recorded<'_, C> {
    fn next_event(&self) -> Option<ClientEvent> {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "event",
            || inner.as_ref().map(|c| c.next_event()),
            enc_event,
            dec_event,
            None,
        )
    }

    fn send(&self, id: ClientId, bytes: &[u8]) -> Option<usize> {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "send",
            || inner.as_ref().map(|c| c.send(id, bytes)),
            |r| r.map_or(Value::Null, |n| json!(n)),
            |v| Some(usize_of(v)),
            None,
        )
    }

    fn tx_free(&self, id: ClientId) -> usize {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "tx_free",
            || inner.as_ref().map(|c| c.tx_free(id)),
            |n| json!(n),
            usize_of,
            0,
        )
    }

    fn tx_len(&self, id: ClientId) -> usize {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "tx_len",
            || inner.as_ref().map(|c| c.tx_len(id)),
            |n| json!(n),
            usize_of,
            0,
        )
    }

    fn recv(&self, id: ClientId, out: &mut [u8]) -> usize {
        let Recorded { inner, tape, .. } = self;
        let got: Vec<u8> = ask(
            *tape,
            "recv",
            || {
                inner.as_ref().map(|c| {
                    let n = c.recv(id, out);
                    out.get(..n).unwrap_or(&[]).to_vec()
                })
            },
            |b| json!(hex(b)),
            |v| v.as_str().and_then(unhex),
            Vec::new(),
        );
        let n = got.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), got.get(..n)) {
            dst.copy_from_slice(src);
        }
        n
    }

    fn is_eof(&self, id: ClientId) -> bool {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "is_eof",
            || inner.as_ref().map(|c| c.is_eof(id)),
            |b| json!(b),
            Value::as_bool,
            true,
        )
    }

    fn rx_len(&self, id: ClientId) -> usize {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "rx_len",
            || inner.as_ref().map(|c| c.rx_len(id)),
            |n| json!(n),
            usize_of,
            0,
        )
    }

    fn close(&self, id: ClientId) {
        if let Some(c) = self.inner.as_ref() {
            c.close(id);
        }
    }

    fn drop_now(&self, id: ClientId) {
        if let Some(c) = self.inner.as_ref() {
            c.drop_now(id);
        }
    }

    fn queue_capacity(&self) -> usize {
        let Recorded { inner, tape, .. } = self;
        ask(
            *tape,
            "queue_capacity",
            || inner.as_ref().map(|c| c.queue_capacity()),
            |n| json!(n),
            usize_of,
            0,
        )
    }

    fn wake_on_event(&self, waker: Option<Waker>) {
        if let Some(c) = self.inner.as_ref() {
            c.wake_on_event(waker);
        }
    }
}

/// No clients at all: the type of a replay's absent live edge.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClients;

impl Clients for NoClients {
    fn next_event(&self) -> Option<ClientEvent> {
        None
    }
    fn send(&self, _: ClientId, _: &[u8]) -> Option<usize> {
        None
    }
    fn tx_free(&self, _: ClientId) -> usize {
        0
    }
    fn tx_len(&self, _: ClientId) -> usize {
        0
    }
    fn recv(&self, _: ClientId, _: &mut [u8]) -> usize {
        0
    }
    fn is_eof(&self, _: ClientId) -> bool {
        true
    }
    fn rx_len(&self, _: ClientId) -> usize {
        0
    }
    fn close(&self, _: ClientId) {}
    fn drop_now(&self, _: ClientId) {}
    fn queue_capacity(&self) -> usize {
        0
    }
    fn wake_on_event(&self, _: Option<Waker>) {}
}
