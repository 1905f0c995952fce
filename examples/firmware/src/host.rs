//! The host, through semihosting: the exit status, and lines on its
//! standard output.

use core::fmt;

use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};

/// Ends the program: QEMU exits with status 0 if `ok`, else 1.
pub fn exit(ok: bool) -> ! {
    debug::exit(if ok { EXIT_SUCCESS } else { EXIT_FAILURE });
    // Without a host that takes the call (a debugger, real hardware), stay.
    loop {
        cortex_m::asm::wfi();
    }
}

/// One line of text built with `write!` and printed on the host's standard
/// output in one semihosting call. What does not fit (199 bytes) is cut
/// off.
pub struct Line {
    buf: [u8; 200],
    len: usize,
}

impl Line {
    /// An empty line.
    pub const fn new() -> Self {
        Line {
            buf: [0; 200],
            len: 0,
        }
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        let bytes = self.buf.get(..self.len).unwrap_or(&[]);
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// Prints the line (with its newline) and empties it.
    pub fn print(&mut self) {
        let n = self.len;
        if let Some(b) = self.buf.get_mut(n) {
            *b = b'\n';
        }
        let bytes = self.buf.get(..=n).unwrap_or(&[]);
        cortex_m_semihosting::hprint!("{}", core::str::from_utf8(bytes).unwrap_or("\n"));
        self.len = 0;
    }
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for (i, c) in s.char_indices() {
            let end = self.len + c.len_utf8();
            // keep the last byte for the newline
            if end >= self.buf.len() {
                break;
            }
            if let (Some(dst), Some(src)) = (
                self.buf.get_mut(self.len..end),
                s.as_bytes().get(i..i + c.len_utf8()),
            ) {
                dst.copy_from_slice(src);
                self.len = end;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Line").field(&self.as_str()).finish()
    }
}
