//! [`Cutter`]: cuts a chunk of received bytes into frames. Lines are cut
//! at once (a search for each newline, the line handed over from the
//! chunk without a copy when it lies in it whole); any other framing goes
//! byte by byte through its [`Framer`].

use hio_embedded::{FrameError, Framer};

/// Cuts chunks of received bytes into frames, in order, one frame per
/// [`next`](Cutter::next) call.
#[derive(Debug, Clone)]
pub(crate) struct Cutter<F> {
    framer: F,
    /// Lines cut at once instead of through `framer`.
    lines: Option<LineCut>,
}

impl<F: Framer> Cutter<F> {
    /// Frames cut byte by byte by `framer`.
    pub(crate) fn new(framer: F) -> Self {
        Cutter {
            framer,
            lines: None,
        }
    }

    /// Lines of at most `max` bytes (without their `\n` or `\r\n`), cut as
    /// [`Lines`](hio_embedded::Lines) of that size cuts them, but a chunk
    /// at a time.
    pub(crate) fn lines(framer: F, max: usize) -> Self {
        Cutter {
            framer,
            lines: Some(LineCut::new(max)),
        }
    }

    /// Takes bytes of `chunk` up to the end of the next frame (or all of
    /// it); calls `on` with the frame, or with the error of a frame that
    /// was dropped, if one ended there. Returns the bytes taken.
    pub(crate) fn next(
        &mut self,
        chunk: &[u8],
        on: impl FnOnce(Result<&[u8], FrameError>),
    ) -> usize {
        if let Some(l) = self.lines.as_mut() {
            return l.next(chunk, on);
        }
        for (i, &b) in chunk.iter().enumerate() {
            if let Some(r) = self.framer.feed(b) {
                on(r);
                return i + 1;
            }
        }
        chunk.len()
    }

    /// The bytes were damaged (a device error): drop a frame partly
    /// received and skip to the next delimiter.
    pub(crate) fn resync(&mut self) {
        match self.lines.as_mut() {
            Some(l) => l.resync(),
            None => self.framer.resync(),
        }
    }
}

/// Newline-delimited lines, cut a chunk at a time, with the semantics of
/// hio-embedded's `LineFramer`: a line ends at `\n`, one `\r` right
/// before it is dropped (any other `\r` is data), a line longer than
/// `max` is reported once as [`FrameError::Overlong`] and dropped up to
/// its `\n`.
#[derive(Debug, Clone)]
struct LineCut {
    max: usize,
    /// The start of a line not yet ended (a `\r` at its end held back in
    /// `cr`).
    part: Vec<u8>,
    /// A `\r` came last: dropped if `\n` follows, data otherwise.
    cr: bool,
    /// Skipping the rest of an overlong or damaged line.
    discarding: bool,
}

impl LineCut {
    fn new(max: usize) -> Self {
        LineCut {
            max,
            part: Vec::new(),
            cr: false,
            discarding: false,
        }
    }

    fn resync(&mut self) {
        if !self.discarding && (!self.part.is_empty() || self.cr) {
            self.part.clear();
            self.cr = false;
            self.discarding = true;
        }
    }

    fn overlong(&mut self) {
        self.part.clear();
        self.cr = false;
        self.discarding = true;
    }

    fn next(&mut self, chunk: &[u8], on: impl FnOnce(Result<&[u8], FrameError>)) -> usize {
        if chunk.is_empty() {
            return 0;
        }
        let newline = chunk.iter().position(|&b| b == b'\n');
        if self.discarding {
            return match newline {
                Some(i) => {
                    self.discarding = false;
                    i + 1
                }
                None => chunk.len(),
            };
        }
        let Some(i) = newline else {
            // no end yet: keep the start (a `\r` last held back)
            let body = chunk.strip_suffix(b"\r").unwrap_or(chunk);
            let held_cr = body.len() < chunk.len();
            let len = self.part.len() + usize::from(self.cr) + body.len();
            if len > self.max {
                self.overlong();
                on(Err(FrameError::Overlong));
                return chunk.len();
            }
            if self.cr {
                self.part.push(b'\r');
            }
            self.part.extend_from_slice(body);
            self.cr = held_cr;
            return chunk.len();
        };
        let line = chunk.get(..i).unwrap_or(&[]);
        if self.part.is_empty() && !self.cr {
            // the whole line is in the chunk: handed over from it
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > self.max {
                on(Err(FrameError::Overlong));
            } else {
                on(Ok(line));
            }
            return i + 1;
        }
        if self.cr {
            self.part.push(b'\r');
            self.cr = false;
        }
        self.part.extend_from_slice(line);
        if self.part.last() == Some(&b'\r') {
            self.part.pop();
        }
        if self.part.len() > self.max {
            on(Err(FrameError::Overlong));
        } else {
            on(Ok(&self.part));
        }
        self.part.clear();
        i + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hio_embedded::Lines;

    type Frames = Vec<Result<Vec<u8>, FrameError>>;

    /// Every frame (or error) `cut` gives for `chunks`, in order.
    fn run(cut: &mut Cutter<Lines<8>>, chunks: &[&[u8]]) -> Frames {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest: &[u8] = chunk;
            loop {
                let n = cut.next(rest, |r| out.push(r.map(<[u8]>::to_vec)));
                rest = &rest[n..];
                if rest.is_empty() {
                    break;
                }
            }
        }
        out
    }

    fn both(chunks: &[&[u8]]) -> (Frames, Frames) {
        let fast = run(&mut Cutter::lines(Lines::<8>::new(), 8), chunks);
        let slow = run(&mut Cutter::new(Lines::<8>::new()), chunks);
        (fast, slow)
    }

    #[test]
    fn lines_cut_at_once_are_the_framer_s_lines() {
        let cases: &[&[&[u8]]] = &[
            &[b"abc\ndef\n"],
            &[b"ab", b"c\r", b"\nd\r\r\n"],
            &[b"x\ry\n\r\n\n"],
            &[b"12345678\n123456789\nok\n"],
            &[b"12345678\r\n1234567", b"8\r", b"\n"],
            &[b"1234567", b"89", b"0\nafter\n"],
            &[b"12345678\r", b"x\nnext\n"],
            &[b"\r", b"", b"\n"],
            &[b"abc", b"", b"def\n"],
        ];
        for chunks in cases {
            let (fast, slow) = both(chunks);
            assert_eq!(fast, slow, "{chunks:?}");
        }
    }

    #[test]
    fn every_split_of_a_stream_gives_the_framer_s_lines() {
        let stream: &[u8] = b"one\r\ntwo\n\r\r\nthree3333333\n\rfour\rx\n12345678\r\n\n";
        let whole = run(&mut Cutter::new(Lines::<8>::new()), &[stream]);
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                let (fast, _) = both(&[&stream[..a], &stream[a..b], &stream[b..]]);
                assert_eq!(fast, whole, "split at {a} and {b}");
            }
        }
    }

    #[test]
    fn random_streams_in_random_chunks_give_the_framer_s_lines() {
        // a small generator (no dependency): streams of `x`, `\r`, `\n`
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..2000 {
            let len = next(40) as usize;
            let stream: Vec<u8> = (0..len).map(|_| b"xxxx\r\n"[next(6) as usize]).collect();
            let mut cuts: Vec<usize> = (0..next(5))
                .map(|_| next(len as u64 + 1) as usize)
                .collect();
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut at = 0;
            for c in cuts.into_iter().chain([len]) {
                chunks.push(&stream[at..c]);
                at = c;
            }
            let (fast, slow) = both(&chunks);
            assert_eq!(fast, slow, "{chunks:?}");
        }
    }

    #[test]
    fn resync_drops_the_line_begun_only() {
        for mut cut in [
            Cutter::lines(Lines::<8>::new(), 8),
            Cutter::new(Lines::<8>::new()),
        ] {
            let mut got = run(&mut cut, &[b"abc"]);
            cut.resync();
            got.extend(run(&mut cut, &[b"def\nok\n"]));
            assert_eq!(got, vec![Ok(b"ok".to_vec())]);
            cut.resync(); // between lines: nothing lost
            assert_eq!(run(&mut cut, &[b"two\n"]), vec![Ok(b"two".to_vec())]);
        }
    }
}
