//! Independent peers: Python's `socket` module as client and as server
//! against our server and client, byte-exact round trips of text and
//! binary payloads. Loopback only.

mod net_common;

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use hio_core::{Cx, Doer, Doist, Fault, Step, Tock, Waker};
use hio_std::net::{Client, ClientConfig, ClientDoer, ClientState};
use hio_std::reactor::{Reactor, NET_TOCK};
use net_common::*;

fn python(script: &str, args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.arg("-c").arg(script).args(args);
    c
}

const PY_CLIENT: &str = r#"
import random, socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
payloads = [b"hello, world\n", bytes(range(256)) * 64, rng.randbytes(1 << 20), b"", b"\x00\r\n\xff" * 1000]
for p in payloads:
    s = socket.create_connection((host, port), timeout=20)
    def send():
        s.sendall(p)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send); t.start()
    got = bytearray()
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
    t.join(); s.close()
    if bytes(got) != p:
        print("mismatch", len(p), len(got)); sys.exit(1)
print("ok", len(payloads))
"#;

#[test]
fn python_client_against_our_echo_server() {
    for listen in ["127.0.0.1:0", "[::1]:0"] {
        let server = HioChild::start(&["echo", "--listen", listen]);
        let ip = server.addr.ip().to_string();
        let out = python(PY_CLIENT, &[&ip, &server.addr.port().to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok 5");
    }
}

const PY_SERVER: &str = r#"
import socket, sys, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(16)
print(srv.getsockname()[1], flush=True)
def serve(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b: break
            c.sendall(b)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

struct PyServer(Child, u16);

impl PyServer {
    fn start() -> PyServer {
        let mut child = python(PY_SERVER, &[])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let port = read_line(&mut out).parse().unwrap();
        PyServer(child, port)
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends a payload through a `Client` and collects what comes back.
struct Exchange<'a> {
    client: &'a Client<'a>,
    waker: Waker,
    out: &'a [u8],
    sent: usize,
    got: &'a RefCell<Vec<u8>>,
}

impl Doer for Exchange<'_> {
    fn tock(&self) -> Tock {
        Tock::NEVER
    }
    fn enter(&mut self, cx: &mut Cx<'_>) -> Result<Step, Fault> {
        cx.attach(self.waker).unwrap();
        self.client.wake_on_rx(Some(self.waker));
        Ok(Step::Continue)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        if self.sent < self.out.len() {
            if let Ok(n) = self.client.send(&self.out[self.sent..]) {
                self.sent += n;
            }
        }
        let mut buf = [0u8; 8192];
        loop {
            let n = self.client.recv(&mut buf);
            if n == 0 {
                break;
            }
            self.got.borrow_mut().extend_from_slice(&buf[..n]);
        }
        if self.got.borrow().len() >= self.out.len() || self.client.state() == ClientState::Closed {
            self.client.close();
            return Ok(Step::Done);
        }
        Ok(Step::Continue)
    }
}

#[test]
fn our_client_against_a_python_echo_server() {
    let py = PyServer::start();
    let reactor = Reactor::new().unwrap();
    let addr = format!("127.0.0.1:{}", py.1).parse().unwrap();
    // buffers smaller than the payload: it goes through in many passes
    let client = Client::new(&reactor, addr, ClientConfig::default().buffers(8192, 8192));
    let payload = payload(300_000, 3);
    let got = RefCell::new(Vec::new());
    let mut doer = ClientDoer::new(&client).unwrap();
    let mut app = Exchange {
        client: &client,
        waker: reactor.waker().unwrap(),
        out: &payload,
        sent: 0,
        got: &got,
    };
    let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK)
        .unwrap()
        .with_limit(Tock::from_secs(20));
    doist.wakes(reactor.board());
    doist.add(&mut doer).unwrap();
    doist.add(&mut app).unwrap();
    let report = doist.run(&mut reactor.clock(), None);
    assert_eq!(report.end, hio_core::End::Done, "{report:?}");
    assert!(got.borrow().as_slice() == payload.as_slice(), "byte-exact");
    assert_eq!(client.stats().connects, 1);
}

#[test]
fn hio_send_against_a_python_echo_server() {
    let py = PyServer::start();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["send", "--connect", &format!("127.0.0.1:{}", py.1)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for k in 0..500 {
        input.push_str(&format!("line {k} ünïcödé\n"));
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), input);
}

const PY_UDP: &str = r#"
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(20)
for p in [b"ping", bytes(range(256)) * 8, b"\x00" * 2048]:
    s.sendto(p, (host, port))
    got, _ = s.recvfrom(65536)
    if got != p: print("mismatch", len(p), len(got)); sys.exit(1)
# larger than the peer's 2048-byte maximum: dropped, never echoed cut short
s.sendto(b"x" * 3000, (host, port))
s.sendto(b"after", (host, port))
got, _ = s.recvfrom(65536)
if got != b"after": print("got", got[:20], len(got)); sys.exit(1)
print("ok")
"#;

#[test]
fn python_udp_client_against_our_udp_echo() {
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let peer = HioChild::start(&["udp-echo", "--bind", bind]);
        let out = python(
            PY_UDP,
            &[&peer.addr.ip().to_string(), &peer.addr.port().to_string()],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn hio_send_udp_against_a_python_udp_echo() {
    let mut py = python(
        r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    b, a = s.recvfrom(65536); s.sendto(b, a)
"#,
        &[],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = BufReader::new(py.stdout.take().unwrap());
    let port = read_line(&mut out);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["send", "--udp", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\nthree\n")
        .unwrap();
    let res = child.wait_with_output().unwrap();
    let _ = py.kill();
    let _ = py.wait();
    assert!(res.status.success());
    assert_eq!(res.stdout, b"one\ntwo\nthree\n");
    let _ = out.fill_buf();
}
