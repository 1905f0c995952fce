//! A line client built from hio's doers: a `ClientDoer` serves the
//! connection, and an application doer sends each argument as a line and
//! prints each reply, parked in between.
//!
//! ```text
//! cargo run -p hio-examples --example echo_server &
//! cargo run -p hio-examples --example line_client -- 127.0.0.1:7000 hello world
//! ```

use hio_core::{Cx, Doer, Doist, Fault, FaultKind, Step, Tock, Waker};
use hio_std::net::{Client, ClientConfig, ClientDoer, ClientState};
use hio_std::reactor::{Reactor, NET_TOCK};

/// Sends its lines, prints the replies, closes after the last one.
struct Lines<'a> {
    client: &'a Client<'a>,
    waker: Waker,
    lines: Vec<String>,
    replies: usize,
    line: Vec<u8>,
}

impl Doer for Lines<'_> {
    fn name(&self) -> &str {
        "lines"
    }

    fn tock(&self) -> Tock {
        Tock::NEVER // woken by the client: replies, or a change of state
    }

    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker)
            .map_err(|_| Fault::new(FaultKind::Capacity, "no waker"))?;
        self.client.wake_on_rx(Some(self.waker));
        for l in &self.lines {
            // waits in the send buffer until connected
            let line = format!("{l}\n");
            if self.client.send(line.as_bytes()) != Ok(line.len()) {
                return Err(Fault::new(
                    FaultKind::Capacity,
                    "lines too long for the buffer",
                ));
            }
        }
        Ok(Step::Continue)
    }

    fn recur(&mut self, _cx: &mut Cx<'_>) -> Result<Step, Fault> {
        while let Ok(true) = self.client.recv_line(&mut self.line) {
            println!("{}", String::from_utf8_lossy(&self.line));
            self.replies += 1;
        }
        if self.replies == self.lines.len() {
            self.client.close();
            return Ok(Step::Done);
        }
        if self.client.state() == ClientState::Closed {
            return Err(Fault::new(FaultKind::Io, "the connection failed"));
        }
        Ok(Step::Continue)
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7000".into());
    let addr = hio_std::net::parse_addr(&addr)?;
    let reactor = Reactor::new()?;
    let client = Client::new(&reactor, addr, ClientConfig::default());
    let mut doer = ClientDoer::new(&client)?;
    let mut app = Lines {
        client: &client,
        waker: reactor.waker().map_err(std::io::Error::other)?,
        lines: args.collect(),
        replies: 0,
        line: Vec::new(),
    };
    let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK).map_err(std::io::Error::other)?;
    doist.wakes(reactor.board());
    doist
        .add(&mut doer)
        .map_err(|_| std::io::Error::other("the Doist is full"))?;
    doist
        .add(&mut app)
        .map_err(|_| std::io::Error::other("the Doist is full"))?;
    let report = doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
    if let hio_core::End::Fault(f) = report.end {
        let why = client
            .last_error()
            .map(|e| e.to_string())
            .unwrap_or_default();
        eprintln!("line_client: {f} {why}");
        std::process::exit(1);
    }
    Ok(())
}
