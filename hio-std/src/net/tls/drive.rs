//! [`serve_bytes`]: the server side of a TLS connection fed from memory —
//! the hook of the fuzz target and the property tests.

use std::io::{self, Read, Write};

use super::config::ServerTls;
use super::session::{Broken, Session};
use crate::net::ring::Ring;

/// A socket in memory: reads hand out `input` in pieces of `chunk` bytes
/// (then would-block once, as a non-blocking socket does), then its end;
/// writes are counted and dropped.
#[derive(Debug)]
struct MemSock<'a> {
    input: &'a [u8],
    chunk: usize,
    left_in_round: usize,
    written: usize,
}

impl Read for MemSock<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            return Ok(0);
        }
        if self.left_in_round == 0 {
            self.left_in_round = self.chunk;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.input.len()).min(self.left_in_round);
        let (now, rest) = self.input.split_at(n);
        if let Some(dst) = out.get_mut(..n) {
            dst.copy_from_slice(now);
        }
        self.input = rest;
        self.left_in_round -= n;
        Ok(n)
    }
}

impl Write for MemSock<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.written += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What [`serve_bytes`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Served {
    /// The handshake finished.
    pub handshaken: bool,
    /// Plaintext bytes that came out.
    pub plain_in: usize,
    /// TLS bytes the server wrote back.
    pub wire_out: usize,
    /// How the session failed, if it did (input that ends mid-handshake
    /// fails with `HandshakeEof`).
    pub failed: Option<Broken>,
}

/// Feeds `input`, as a peer's bytes arriving `chunk` bytes at a time (at
/// least 1), to the server side of a new TLS connection with `tls`, with
/// receive and send rings of `capacity` bytes, pumping as the server's
/// remoter does, until the input ends or the session fails. Whatever the
/// input, it returns (no panic, no unbounded growth).
///
/// ```
/// use hio_std::net::tls::{serve_bytes, Authority, Broken, ServerTls, TlsFailure};
/// let ca = Authority::new("CA")?;
/// let id = ca.issue_server(&["localhost"])?;
/// let tls = ServerTls::from_pem(id.cert_pem.as_bytes(), id.key_pem.as_bytes())?.build()?;
/// let served = serve_bytes(&tls, b"GET / HTTP/1.1\r\n\r\n", 7, 4096);
/// assert_eq!(served.failed, Some(Broken::Tls(TlsFailure::Protocol)));
/// # Ok::<(), hio_std::net::tls::TlsError>(())
/// ```
pub fn serve_bytes(tls: &ServerTls, input: &[u8], chunk: usize, capacity: usize) -> Served {
    let mut served = Served::default();
    let mut session = match Session::server(tls, capacity) {
        Ok(s) => s,
        Err(f) => {
            served.failed = Some(Broken::Tls(f));
            return served;
        }
    };
    let chunk = chunk.max(1);
    let mut sock = MemSock {
        input,
        chunk,
        left_in_round: chunk,
        written: 0,
    };
    let mut rx = Ring::new(capacity.max(1));
    let mut tx = Ring::new(capacity.max(1));
    // every round reads at least one byte, or ends: bounded by the input
    for _ in 0..=input.len().saturating_add(2) {
        let p = session.pump(&mut sock, &mut rx, &mut tx, 64 * 1024);
        served.plain_in += p.plain_in;
        served.handshaken |= p.handshake_done;
        if p.failed.is_some() {
            served.failed = p.failed;
            break;
        }
        // the application: echo what fits, drop the rest
        let mut buf = [0u8; 512];
        loop {
            let n = rx.pop(&mut buf);
            if n == 0 {
                break;
            }
            tx.push(buf.get(..n).unwrap_or(&[]));
        }
        if p.peer_closed || (sock.input.is_empty() && p.wire_in == 0 && !p.more) {
            break;
        }
    }
    served.wire_out = sock.written;
    served
}
