//! [`WireLog`]: every frame through a bridge, with its tyme and direction,
//! as JSON Lines.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use hio_core::Tyme;

/// Which way a frame went through the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the device, to the clients.
    FromDevice,
    /// From a client, to the device.
    ToDevice,
}

impl Direction {
    /// `"from-device"` or `"to-device"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::FromDevice => "from-device",
            Direction::ToDevice => "to-device",
        }
    }
}

/// A wire log: one JSON object per line, flushed at the end of each pass
/// that wrote to it.
///
/// ```text
/// {"t":"0.00012","dir":"from-device","text":"beat 1 0.0"}
/// {"t":"0.5","dir":"to-device","client":"#0.1","text":"echo hello"}
/// {"t":"0.5","event":"open","client":"#0.1","peer":"127.0.0.1:40512"}
/// ```
///
/// A frame that is not UTF-8 (COBS framing carries binary) is written as
/// `"hex"` instead of `"text"`. `t` is the bridge's tyme in seconds.
///
/// For [`replay`](crate::bridge::replay) it also holds a set-up line
/// (`{"bridge":"lines","device":...}`), every answer the bridge's edges
/// gave (`{"io":"fill","v":...}`: a chunk read from the device, a client's
/// event or bytes, ...), every lifecycle event of the hub and the
/// device's doer with its tyme in ns (`{"doer":"hub","context":"recur","ns":...}`:
/// each recur is a wake that ran it), and the end (`{"end":"stopped","ns":...}`).
pub struct WireLog {
    out: Box<dyn Write>,
    lines: u64,
    error: Option<io::ErrorKind>,
    dirty: bool,
}

impl WireLog {
    /// A wire log into a new file at `path` (an existing one is replaced).
    ///
    /// # Errors
    ///
    /// The file cannot be created.
    pub fn create(path: &Path) -> io::Result<WireLog> {
        Ok(WireLog::to(Box::new(BufWriter::new(File::create(path)?))))
    }

    /// A wire log into `out`.
    pub fn to(out: Box<dyn Write>) -> WireLog {
        WireLog {
            out,
            lines: 0,
            error: None,
            dirty: false,
        }
    }

    /// Lines written.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The first write error, if any (the log stops there; the bridge goes
    /// on).
    pub fn error(&self) -> Option<io::ErrorKind> {
        self.error
    }

    fn line(&mut self, value: serde_json::Value) {
        if self.error.is_some() {
            return;
        }
        let r = serde_json::to_writer(&mut self.out, &value)
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        match r {
            Ok(()) => {
                self.lines += 1;
                self.dirty = true;
            }
            Err(e) => {
                log::error!("wirelog: cannot write: {e}; the wire log stops here");
                self.error = Some(e.kind());
            }
        }
    }

    /// Records `frame` going `dir` at `t` (`client`: which client sent it).
    pub fn frame(&mut self, t: Tyme, dir: Direction, client: Option<&str>, frame: &[u8]) {
        let mut v = serde_json::Map::new();
        v.insert("t".into(), t.to_string().into());
        v.insert("dir".into(), dir.as_str().into());
        if let Some(c) = client {
            v.insert("client".into(), c.into());
        }
        match std::str::from_utf8(frame) {
            Ok(s) => v.insert("text".into(), s.into()),
            Err(_) => v.insert("hex".into(), hex(frame).into()),
        };
        self.line(v.into());
    }

    /// Records an event (`open`, `close`, `device-lost`, `device-back`).
    pub fn event(&mut self, t: Tyme, event: &str, client: Option<&str>, detail: Option<&str>) {
        let mut v = serde_json::Map::new();
        v.insert("t".into(), t.to_string().into());
        v.insert("event".into(), event.into());
        if let Some(c) = client {
            v.insert("client".into(), c.into());
        }
        if let Some(d) = detail {
            v.insert("detail".into(), d.into());
        }
        self.line(v.into());
    }

    /// Records the answer `v` an edge of the bridge gave to a question of
    /// `kind` (for a replay).
    pub fn io(&mut self, kind: &str, v: serde_json::Value) {
        let mut m = serde_json::Map::new();
        m.insert("io".into(), kind.into());
        m.insert("v".into(), v);
        self.line(m.into());
    }

    /// Records a lifecycle event of one of the bridge's doers (its trace).
    pub fn trace(&mut self, t: Tyme, doer: &str, context: &str) {
        let mut m = serde_json::Map::new();
        m.insert("ns".into(), t.as_nanos().into());
        m.insert("doer".into(), doer.into());
        m.insert("context".into(), context.into());
        self.line(m.into());
    }

    /// Records how the run ended, and when.
    pub fn end(&mut self, t: Tyme, end: &str) {
        let mut m = serde_json::Map::new();
        m.insert("ns".into(), t.as_nanos().into());
        m.insert("end".into(), end.into());
        self.line(m.into());
    }

    /// Records the bridge's set-up (the first line): its framing.
    pub fn header(&mut self, framing: &str, device: &str) {
        let mut m = serde_json::Map::new();
        m.insert("bridge".into(), framing.into());
        m.insert("device".into(), device.into());
        self.line(m.into());
    }

    /// Flushes what was written since the last flush.
    pub fn flush(&mut self) {
        if self.dirty && self.error.is_none() {
            self.dirty = false;
            if let Err(e) = self.out.flush() {
                log::error!("wirelog: cannot write: {e}; the wire log stops here");
                self.error = Some(e.kind());
            }
        }
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The bytes of lower-case (or upper-case) hex; `None` if it is not hex.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16);
            Some((d(*p.first()?)? * 16 + d(*p.get(1)?)?) as u8)
        })
        .collect()
}

impl Drop for WireLog {
    fn drop(&mut self) {
        self.flush();
    }
}

impl fmt::Debug for WireLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireLog")
            .field("lines", &self.lines)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}
