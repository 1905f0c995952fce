//! The host examples that need a peer or a signal, run as a user would:
//! the echo server with the line client against it, and the real-time tree
//! stopped with SIGTERM. (The others run in CI with `cargo run --example`.)

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An example's binary, built by `cargo test` beside this test's.
fn example(name: &str) -> PathBuf {
    let mut p = std::env::current_exe().expect("the test's path");
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p.join("examples").join(name)
}

/// Kills the child if the test fails before it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn first_line(child: &mut Child) -> (String, BufReader<std::process::ChildStdout>) {
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("a line from the example");
    (line, out)
}

fn terminate(child: &Child) {
    let pid = child.id().to_string();
    let ok = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "could not send SIGTERM");
}

fn wait(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            return status;
        }
        assert!(t0.elapsed() < within, "the example did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn line_client_against_echo_server() {
    let server = Command::new(example("echo_server"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start echo_server");
    let mut server = Guard(server);
    let (ready, _rest) = first_line(&mut server.0);
    let addr = ready
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("ready line: {ready:?}"))
        .to_string();
    let out = Command::new(example("line_client"))
        .args([addr.as_str(), "hello", "binary-ish \u{e9}t\u{e9}", "bye"])
        .output()
        .expect("run line_client");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for want in ["hello", "binary-ish \u{e9}t\u{e9}", "bye"] {
        assert!(text.contains(want), "reply {want:?} missing in {text:?}");
    }
    terminate(&server.0);
    let status = wait(&mut server.0, Duration::from_secs(10));
    assert!(status.success(), "echo_server ended with {status}");
}

#[test]
fn realtime_tree_stops_cleanly_on_sigterm() {
    let child = Command::new(example("realtime"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start realtime");
    let mut child = Guard(child);
    let (first, mut rest) = first_line(&mut child.0);
    assert_eq!(first.trim(), "running until Ctrl-C");
    // the first beat comes at its entry: the tree is running
    let mut line = String::new();
    rest.read_line(&mut line).expect("the first beat");
    assert!(line.starts_with("beat 1 at 0.0"), "{line:?}");
    terminate(&child.0);
    let status = wait(&mut child.0, Duration::from_secs(10));
    let mut tail = String::new();
    for l in rest.lines() {
        tail.push_str(&l.expect("a line"));
        tail.push('\n');
    }
    assert!(status.success(), "realtime ended with {status}:\n{tail}");
    // every doer ceased or exited, children before their parent, then the end
    let beat = tail.find("beat exited").expect("beat exited");
    let waiting = tail.find("waiting exited").expect("waiting exited");
    assert!(waiting < beat, "exits in reverse order:\n{tail}");
    assert!(tail.contains("stopped at "), "{tail}");
}
