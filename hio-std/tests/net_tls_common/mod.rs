//! Helpers of the TLS tests: certificates, a TLS echo server on a thread
//! (its counters handed back when it stops), a blocking rustls client.
//! Loopback only.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hio_core::{Doist, StopFlag};
use hio_std::net::tls::{Authority, ClientTls, Issued, ServerTls, TlsVersions};
use hio_std::net::{EchoServerDoer, Server, ServerConfig, ServerDoer, ServerParts, ServerStats};
use hio_std::reactor::{Reactor, NET_TOCK};

/// The safety net of every wait: a test that waits longer has failed.
pub const NET: Duration = Duration::from_secs(20);

/// A CA, a server certificate for localhost and 127.0.0.1, a client
/// certificate, all fresh.
pub struct Pki {
    pub ca: Authority,
    pub server: Issued,
    pub client: Issued,
}

impl Pki {
    pub fn new() -> Pki {
        let ca = Authority::new("test CA").expect("CA");
        let server = ca
            .issue_server(&["localhost", "127.0.0.1"])
            .expect("server cert");
        let client = ca.issue_client("test client").expect("client cert");
        Pki { ca, server, client }
    }

    pub fn server_tls(&self) -> ServerTls {
        ServerTls::from_pem(
            self.server.cert_pem.as_bytes(),
            self.server.key_pem.as_bytes(),
        )
        .expect("pem")
        .build()
        .expect("server tls")
    }

    pub fn mutual_server_tls(&self) -> ServerTls {
        ServerTls::from_pem(
            self.server.cert_pem.as_bytes(),
            self.server.key_pem.as_bytes(),
        )
        .expect("pem")
        .client_ca_pem(self.ca.cert_pem().as_bytes())
        .expect("client ca")
        .build()
        .expect("server tls")
    }

    pub fn client_tls(&self, versions: TlsVersions, with_cert: bool) -> ClientTls {
        let mut b = ClientTls::with_ca_pem(self.ca.cert_pem().as_bytes())
            .expect("ca")
            .server_name("localhost")
            .expect("name")
            .versions(versions);
        if with_cert {
            b = b
                .client_cert_pem(
                    self.client.cert_pem.as_bytes(),
                    self.client.key_pem.as_bytes(),
                )
                .expect("client cert");
        }
        b.build().expect("client tls")
    }

    /// Writes the PEM files into a fresh folder of the temp dir, removed
    /// when the guard is dropped.
    pub fn write(&self, tag: &str) -> PemDir {
        let dir = std::env::temp_dir().join(format!("hio-tls-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for (name, text) in [
            ("ca.pem", self.ca.cert_pem()),
            ("server.pem", &self.server.cert_pem),
            ("server-key.pem", &self.server.key_pem),
            ("client.pem", &self.client.cert_pem),
            ("client-key.pem", &self.client.key_pem),
        ] {
            std::fs::write(dir.join(name), text).expect("write pem");
        }
        PemDir(dir)
    }
}

/// A folder of PEM files, removed on drop.
pub struct PemDir(std::path::PathBuf);

impl std::ops::Deref for PemDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for PemDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TLS echo server (`ServerDoer` + `EchoServerDoer`) on a thread.
pub struct TlsEcho {
    pub addr: SocketAddr,
    stop: &'static StopFlag,
    handle: Option<JoinHandle<ServerStats>>,
}

impl TlsEcho {
    /// Serves with `config`, at most 64 connections.
    pub fn start(tls: ServerTls, config: ServerConfig) -> TlsEcho {
        let config = config.max_conns(config.max_conns.min(64));
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            let reactor = Reactor::new().expect("reactor");
            let server = Server::bind(&reactor, "127.0.0.1:0".parse().expect("addr"), config)
                .expect("bind")
                .with_tls(tls);
            let mut parts = ServerParts::new(&server).expect("parts");
            let mut serve: ServerDoer<'_, 65> =
                ServerDoer::new("server", &mut parts).expect("server doer");
            let mut echo = EchoServerDoer::new(&server).expect("echo");
            let mut doist: Doist<'_, 2> = Doist::new(NET_TOCK).expect("doist");
            doist.wakes(reactor.board());
            doist.add(&mut serve).expect("add");
            doist.add(&mut echo).expect("add");
            let _ = tx.send((server.local_addr(), reactor.stop_flag()));
            doist.run(&mut reactor.clock(), Some(reactor.stop_flag()));
            server.stats()
        });
        let (addr, stop) = rx.recv_timeout(NET).expect("server ready");
        TlsEcho {
            addr,
            stop,
            handle: Some(handle),
        }
    }

    /// Stops it; its counters.
    pub fn stop(mut self) -> ServerStats {
        self.stop.stop();
        self.handle
            .take()
            .expect("running")
            .join()
            .expect("server thread")
    }
}

impl Drop for TlsEcho {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.stop.stop();
            let _ = h.join();
        }
    }
}

pub fn tcp(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(NET)).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// A blocking rustls client connection to `addr`.
pub fn rustls_client(
    tls: &ClientTls,
    addr: SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = tls.server_name().cloned().expect("server name");
    let conn = rustls::ClientConnection::new(Arc::clone(tls.rustls()), name).expect("client");
    rustls::StreamOwned::new(conn, tcp(addr))
}

/// One echo round trip of `msg` over a fresh rustls connection, ended
/// with a close_notify; the echo and whether the server's close_notify
/// came.
pub fn round_trip(tls: &ClientTls, addr: SocketAddr, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = rustls_client(tls, addr);
    s.write_all(msg)?;
    s.flush()?;
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got)?;
    s.conn.send_close_notify();
    s.flush()?;
    // the server answers with its own close_notify: a clean end
    let mut rest = Vec::new();
    s.read_to_end(&mut rest)?;
    assert!(rest.is_empty());
    Ok(got)
}

/// Waits until the server closes `s` (end of data or a reset); the
/// bytes it sent before.
pub fn until_closed(mut s: TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!("the server did not close the connection within {NET:?}")
            }
            Err(_) => return got, // a reset
        }
    }
}
