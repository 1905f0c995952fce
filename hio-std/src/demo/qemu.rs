//! `hio demo --qemu`: the real firmware (`examples/firmware`'s
//! `serial-flow`) on QEMU's `lm3s6965evb` board, its UART0 on a
//! pseudo-terminal that the bridge opens as its serial device.

use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The wall-clock bound of a QEMU run (`timeout` ends it after this).
const QEMU_LIMIT: &str = "600";

/// Where the firmware's workspace is (this source tree's
/// `examples/firmware`).
pub fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples")
        .join("firmware")
}

/// Builds the `serial-flow` image (`cargo build --release --bin
/// serial-flow` in the firmware's workspace, as the QEMU tests do) and
/// returns its path.
///
/// # Errors
///
/// Cargo is missing, or the build failed (the thumbv7m target is not
/// installed: `rustup target add thumbv7m-none-eabi`).
pub fn build_firmware() -> io::Result<PathBuf> {
    let dir = firmware_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args([
        "build",
        "--release",
        "--bin",
        "serial-flow",
        "--manifest-path",
    ])
    .arg(dir.join("Cargo.toml"))
    .current_dir(&dir)
    .stdin(Stdio::null());
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        c.env_remove(var);
    }
    let status = c.status().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot run cargo to build the firmware: {e}"),
        )
    })?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "building the firmware in {} failed ({status}); is the target installed? \
             rustup target add thumbv7m-none-eabi",
            dir.display()
        )));
    }
    let image = dir.join("target/thumbv7m-none-eabi/release/serial-flow");
    if !image.is_file() {
        return Err(io::Error::other(format!(
            "{} was not built",
            image.display()
        )));
    }
    Ok(image)
}

/// QEMU running the firmware, UART0 on a pty; stopped when dropped if it
/// still runs.
pub struct QemuBoard {
    pid: u32,
    exit: mpsc::Receiver<ExitStatus>,
    status: Option<ExitStatus>,
    path: PathBuf,
}

impl QemuBoard {
    /// Starts QEMU (under `timeout`) on `image`.
    ///
    /// # Errors
    ///
    /// QEMU cannot be started (install `qemu-system-arm`), or it named no
    /// pty within 30 s.
    pub fn start(image: &Path) -> io::Result<QemuBoard> {
        let mut child = Command::new("timeout")
            .args(["-k", "5", QEMU_LIMIT, "qemu-system-arm"])
            .args(["-cpu", "cortex-m3", "-machine", "lm3s6965evb"])
            .args(["-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-chardev", "pty,id=s0", "-serial", "chardev:s0"])
            .arg("-kernel")
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot start qemu-system-arm under timeout: {e} (install qemu-system-arm)"
                    ),
                )
            })?;
        let (path_tx, path_rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                // `char device redirected to /dev/pts/N (label s0)`
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(rest) = line.strip_prefix("char device redirected to ") {
                        let path = rest.split(" (").next().unwrap_or(rest);
                        let _ = path_tx.send(PathBuf::from(path));
                    }
                }
            });
        }
        let pid = child.id();
        let (tx, exit) = mpsc::channel();
        thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
        let mut board = QemuBoard {
            pid,
            exit,
            status: None,
            path: PathBuf::new(),
        };
        match path_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(path) => board.path = path,
            Err(_) => {
                return Err(io::Error::other(
                    "QEMU named no pseudo-terminal for UART0 within 30 s",
                ))
            }
        }
        Ok(board)
    }

    /// The pty's slave end, UART0 to the host.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its exit status, waiting at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.exit.recv_timeout(limit).ok();
        }
        self.status
    }
}

impl Drop for QemuBoard {
    fn drop(&mut self) {
        if self.wait(Duration::ZERO).is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid.to_string()])
                .status();
            let _ = self.wait(Duration::from_secs(10));
        }
    }
}

impl fmt::Debug for QemuBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QemuBoard")
            .field("pid", &self.pid)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
