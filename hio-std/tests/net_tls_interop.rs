//! TLS interop with independent implementations: `openssl s_client` and
//! Python's `ssl` module against our server (`hio echo --tls-cert`),
//! `openssl s_server` and Python's `ssl` module against our client; TLS
//! 1.2 and 1.3, mutual TLS both ways; and the three commands of the
//! README (`hio cert`, `hio echo`, `hio send`). A test whose tool is
//! missing says so and passes. Loopback only.

mod net_common;
mod net_tls_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use hio_std::net::tls::{ClientTls, TlsVersions};
use hio_std::net::tool;
use net_common::HioChild;
use net_tls_common::{Pki, NET};

fn have(tool: &str, probe: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: `{tool}` is not installed (Debian: openssl / python3)");
    }
    ok
}

/// The lines of a child's stdout, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for a line for which `f` holds; all lines seen.
fn wait_line(rx: &mpsc::Receiver<String>, f: impl Fn(&str) -> bool) -> String {
    loop {
        match rx.recv_timeout(NET) {
            Ok(l) if f(&l) => return l,
            Ok(_) => {}
            Err(e) => panic!("no expected line within {NET:?}: {e}"),
        }
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn tls_echo_child(dir: &Path, mutual: bool) -> HioChild {
    tls_echo_child_with(dir, mutual, &[])
}

/// [`tls_echo_child`] with `extra` arguments (TLS tuning).
fn tls_echo_child_with(dir: &Path, mutual: bool, extra: &[&str]) -> HioChild {
    let (cert, key, ca) = (
        p(dir, "server.pem"),
        p(dir, "server-key.pem"),
        p(dir, "ca.pem"),
    );
    let mut args = vec![
        "echo",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ];
    if mutual {
        args.extend(["--tls-client-ca", &ca]);
    }
    args.extend(extra);
    HioChild::start(&args)
}

/// `openssl s_client` to our server on `port`, verifying it with the CA
/// of `dir`, with `args` besides; the child and its stdout's lines.
fn openssl_client(port: u16, dir: &Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-CAfile", &p(dir, "ca.pem"), "-servername", "localhost"])
        .args(["-verify_return_error"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl");
    let lines = lines_of(&mut child);
    (child, lines)
}

/// `openssl s_client` sends a line, waits for its echo, then closes (a
/// close_notify); its stderr (the -brief summary).
fn s_client(port: u16, dir: &Path, version: &str, cert: bool) -> String {
    let (client_cert, client_key) = (p(dir, "client.pem"), p(dir, "client-key.pem"));
    let mut args = vec![version, "-brief"];
    if cert {
        args.extend(["-cert", &client_cert, "-key", &client_key]);
    }
    let (mut child, lines) = openssl_client(port, dir, &args);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"hello from openssl\n").expect("write");
    stdin.flush().expect("flush");
    wait_line(&lines, |l| l == "hello from openssl");
    drop(stdin);
    let status = child.wait().expect("wait");
    let err = stderr_of(&mut child);
    assert!(status.success(), "s_client failed: {err}");
    err
}

#[test]
fn openssl_s_client_against_our_server() {
    if !have("openssl", &["version"]) {
        return;
    }
    let pki = Pki::new();
    let dir = pki.write("s_client");
    let server = tls_echo_child(&dir, false);
    for (flag, want) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let err = s_client(server.addr.port(), &dir, flag, false);
        assert!(err.contains(&format!("Protocol version: {want}")), "{err}");
        assert!(err.contains("Verification: OK"), "{err}");
    }
    drop(server);
    let server = tls_echo_child(&dir, true);
    for flag in ["-tls1_2", "-tls1_3"] {
        let err = s_client(server.addr.port(), &dir, flag, true);
        assert!(err.contains("Verification: OK"), "{err}");
    }
}

/// `openssl s_server -rev` (answers each line reversed) for one
/// connection; its child and port.
fn s_server(dir: &Path, version: &str, mutual: bool) -> (Child, u16, mpsc::Receiver<String>) {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_server",
        "-accept",
        "127.0.0.1:0",
        "-naccept",
        "1",
        "-rev",
    ])
    .args([
        "-cert",
        &p(dir, "server.pem"),
        "-key",
        &p(dir, "server-key.pem"),
    ])
    .arg(version);
    if mutual {
        cmd.args([
            "-Verify",
            "1",
            "-verify_return_error",
            "-CAfile",
            &p(dir, "ca.pem"),
        ]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl");
    let lines = lines_of(&mut child);
    let accept = wait_line(&lines, |l| l.starts_with("ACCEPT"));
    let port = accept
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {accept:?}"));
    (child, port, lines)
}

fn send(port: u16, tls: ClientTls, input: &str) -> Result<String, tool::ToolError> {
    let mut out = Vec::new();
    tool::send_with(
        ([127, 0, 0, 1], port).into(),
        Some(tls),
        Box::new(std::io::Cursor::new(input.as_bytes().to_vec())),
        &mut out,
        NET,
        false,
    )?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn our_client_against_openssl_s_server() {
    if !have("openssl", &["version"]) {
        return;
    }
    let pki = Pki::new();
    let dir = pki.write("s_server");
    for (flag, mutual) in [
        ("-tls1_2", false),
        ("-tls1_3", false),
        ("-tls1_2", true),
        ("-tls1_3", true),
    ] {
        let (mut child, port, lines) = s_server(&dir, flag, mutual);
        let out = send(
            port,
            pki.client_tls(TlsVersions::Both, mutual),
            "hello\nworld\n",
        )
        .unwrap_or_else(|e| panic!("{flag} mutual={mutual}: {e}"));
        assert_eq!(out, "olleh\ndlrow\n");
        let want = if flag == "-tls1_2" {
            "TLSv1.2"
        } else {
            "TLSv1.3"
        };
        // it serves one connection (-naccept 1), then ends
        wait_line(&lines, |l| l.contains("server accepts that finished"));
        let _ = child.wait();
        let err = stderr_of(&mut child);
        assert!(err.contains(&format!("Protocol version: {want}")), "{err}");
        assert_eq!(err.contains("No peer certificate"), !mutual, "{err}");
    }
}

const PY_CLIENT: &str = r#"
import random, socket, ssl, sys
port, ca, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
ctx.minimum_version = v; ctx.maximum_version = v
if len(sys.argv) > 5:
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
raw = socket.create_connection(("127.0.0.1", port), timeout=20)
s = ctx.wrap_socket(raw, server_hostname="localhost")
rng = random.Random(7)
for p in [b"hello\n", bytes(range(256)) * 64, rng.randbytes(200000)]:
    got = bytearray()
    for i in range(0, len(p), 16384):
        chunk = p[i:i + 16384]
        s.sendall(chunk)
        want = len(got) + len(chunk)
        while len(got) < want:
            b = s.recv(65536)
            if not b: print("early end"); sys.exit(1)
            got += b
    if bytes(got) != p:
        print("mismatch", len(p), len(got)); sys.exit(1)
ver = s.version()
s.unwrap()  # close_notify; returns once the server's comes
raw.close()
print("ok", ver)
"#;

#[test]
fn python_ssl_client_against_our_server() {
    if !have("python3", &["-c", "import ssl"]) {
        return;
    }
    let pki = Pki::new();
    let dir = pki.write("pyclient");
    for mutual in [false, true] {
        let server = tls_echo_child(&dir, mutual);
        for v in ["1.2", "1.3"] {
            let port = server.addr.port().to_string();
            let mut args = vec![port.clone(), p(&dir, "ca.pem"), v.to_owned()];
            if mutual {
                args.extend([p(&dir, "client.pem"), p(&dir, "client-key.pem")]);
            }
            let out = Command::new("python3")
                .arg("-c")
                .arg(PY_CLIENT)
                .args(&args)
                .output()
                .expect("python3");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(text.trim(), format!("ok TLSv{v}"), "mutual={mutual}");
        }
        if mutual {
            // no client certificate: refused
            let out = Command::new("python3")
                .arg("-c")
                .arg(PY_CLIENT)
                .args([
                    server.addr.port().to_string(),
                    p(&dir, "ca.pem"),
                    "1.2".into(),
                ])
                .output()
                .expect("python3");
            assert!(!out.status.success());
        }
    }
}

const PY_SERVER: &str = r#"
import socket, ssl, sys
cert, key = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if len(sys.argv) > 3:
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(sys.argv[3])
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(8)
print(srv.getsockname()[1], flush=True)
while True:
    raw, _ = srv.accept()
    try:
        c = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        print("refused", type(e).__name__, flush=True); raw.close(); continue
    print(c.version(), flush=True)
    try:
        while True:
            b = c.recv(65536)
            if not b: break
            c.sendall(b)
        c.unwrap()
    except (ssl.SSLError, OSError):
        pass
    raw.close()
"#;

#[test]
fn our_client_against_python_ssl_server() {
    if !have("python3", &["-c", "import ssl"]) {
        return;
    }
    let pki = Pki::new();
    let dir = pki.write("pyserver");
    for mutual in [false, true] {
        let mut args = vec![p(&dir, "server.pem"), p(&dir, "server-key.pem")];
        if mutual {
            args.push(p(&dir, "ca.pem"));
        }
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(PY_SERVER)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let lines = lines_of(&mut child);
        let port: u16 = wait_line(&lines, |_| true).trim().parse().expect("port");
        for (v, name) in [
            (TlsVersions::Tls12, "TLSv1.2"),
            (TlsVersions::Tls13, "TLSv1.3"),
        ] {
            let out = send(port, pki.client_tls(v, mutual), "hello\nworld\n")
                .unwrap_or_else(|e| panic!("{name} mutual={mutual}: {e}"));
            assert_eq!(out, "hello\nworld\n");
            wait_line(&lines, |l| l == name);
        }
        if mutual {
            assert!(send(port, pki.client_tls(TlsVersions::Both, false), "x\n").is_err());
            wait_line(&lines, |l| l.starts_with("refused"));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn three_commands() {
    let dir = std::env::temp_dir().join(format!("hio-cert-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["cert", "--client", "--out", &dir.display().to_string()])
        .output()
        .expect("hio cert");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in hio_std::net::tls::CERT_SET_FILES
        .iter()
        .chain(&hio_std::net::tls::CLIENT_CERT_FILES)
    {
        assert!(dir.join(f).exists(), "{f}");
    }
    let server = HioChild::start(&[
        "echo",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &p(&dir, "server.pem"),
        "--tls-key",
        &p(&dir, "server-key.pem"),
    ]);
    // and mutual TLS with the client certificate
    let mutual = HioChild::start(&[
        "echo",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &p(&dir, "server.pem"),
        "--tls-key",
        &p(&dir, "server-key.pem"),
        "--tls-client-ca",
        &p(&dir, "ca.pem"),
    ]);
    let mut send = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["send", "--connect", &mutual.addr.to_string()])
        .args(["--tls-ca", &p(&dir, "ca.pem"), "--server-name", "localhost"])
        .args(["--tls-cert", &p(&dir, "client.pem")])
        .args(["--tls-key", &p(&dir, "client-key.pem")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hio send");
    send.stdin
        .take()
        .expect("stdin")
        .write_all(b"mutual\n")
        .expect("write");
    let out = send.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"mutual\n");
    drop(mutual);
    let mut send = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["send", "--connect", &server.addr.to_string()])
        .args(["--tls-ca", &p(&dir, "ca.pem"), "--server-name", "localhost"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hio send");
    send.stdin
        .take()
        .expect("stdin")
        .write_all(b"hi\n")
        .expect("write");
    let out = send.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hi\n");
    // the wrong name: exit 1 and the reason
    let mut send = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["send", "--connect", &server.addr.to_string()])
        .args([
            "--tls-ca",
            &p(&dir, "ca.pem"),
            "--server-name",
            "example.com",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hio send");
    send.stdin
        .take()
        .expect("stdin")
        .write_all(b"hi\n")
        .expect("write");
    let out = send.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not valid for the server name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a missing file: exit 2 and its name
    let out = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["send", "--connect", &server.addr.to_string()])
        .args(["--tls-ca", "/nonexistent/ca.pem"])
        .stdin(Stdio::null())
        .output()
        .expect("hio send");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/ca.pem"));
    let out = Command::new(env!("CARGO_BIN_EXE_hio"))
        .args(["echo", "--listen", "127.0.0.1:0"])
        .args([
            "--tls-cert",
            &p(&dir, "ca.pem"),
            "--tls-key",
            &p(&dir, "ca.pem"),
        ])
        .output()
        .expect("hio echo");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no private key"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `hio echo --tls-version 1.3 --tls-alpn h2,http/1.1`: `openssl s_client`
/// on TLS 1.3 offering h2 gets h2 and its echo; one on TLS 1.2 is refused
/// with a protocol-version alert; the server goes on serving.
#[test]
fn tuned_server_speaks_only_its_version_and_alpn() {
    if !have("openssl", &["version"]) {
        return;
    }
    let pki = Pki::new();
    let dir = pki.write("tuned");
    let server = tls_echo_child_with(
        &dir,
        false,
        &[
            "--tls-version",
            "1.3",
            "--tls-alpn",
            "h2,http/1.1",
            "--tls-handshake-timeout",
            "5",
        ],
    );
    let port = server.addr.port();
    let client = |version: &str| openssl_client(port, &dir, &[version, "-alpn", "h2"]);
    // TLS 1.3 with h2: agreed, and the line comes back
    let (mut child, lines) = client("-tls1_3");
    let mut stdin = child.stdin.take().expect("stdin");
    wait_line(&lines, |l| l.contains("ALPN protocol: h2"));
    stdin.write_all(b"tuned\n").expect("write");
    stdin.flush().expect("flush");
    wait_line(&lines, |l| l == "tuned");
    drop(stdin);
    assert!(child.wait().expect("wait").success());
    // TLS 1.2: refused
    let (mut child, _lines) = client("-tls1_2");
    drop(child.stdin.take());
    let status = child.wait().expect("wait");
    let err = stderr_of(&mut child);
    assert!(
        !status.success() && err.contains("protocol version"),
        "{status:?} {err}"
    );
    // and it still serves TLS 1.3
    let err = s_client(port, &dir, "-tls1_3", false);
    assert!(err.contains("Protocol version: TLSv1.3"), "{err}");
}
