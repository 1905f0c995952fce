//! Project automation.
//!
//! ```text
//! cargo xtask test [JOB...]   set up, then run every CI job (or the named ones)
//! cargo xtask size            build the firmware and print its flash/RAM budgets
//! cargo xtask jobs            list the jobs
//! ```
//!
//! `.ci/run` calls `cargo xtask test`; the README gives the same command.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Bare-metal targets hio-core and hio-embedded must build for.
const TARGETS: &[&str] = &[
    "thumbv7m-none-eabi",
    "thumbv6m-none-eabi",
    "thumbv7em-none-eabihf",
    "riscv32imac-unknown-none-elf",
];

type Job = fn(&Path) -> Result<(), String>;

const JOBS: &[(&str, &str, Job)] = &[
    (
        "setup",
        "rust targets, components, qemu, openssl, socat",
        setup,
    ),
    ("fmt", "cargo fmt --check", fmt),
    (
        "clippy",
        "clippy per crate and feature set, -D warnings",
        clippy,
    ),
    ("test", "host tests of the workspace", test),
    ("doc", "rustdoc without warnings", doc),
    (
        "nostd",
        "hio-core and hio-embedded for bare-metal targets, no allocator",
        nostd,
    ),
    (
        "firmware",
        "firmware images for lm3s6965evb and their size budgets",
        firmware,
    ),
    (
        "qemu",
        "firmware under QEMU: serial flow and on-target conformance",
        qemu,
    ),
    ("miri", "hio-core's tests under Miri (nightly)", miri),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "test" => run_jobs(&root, rest),
        "size" => firmware(&root),
        "jobs" => {
            for (name, what, _) in JOBS {
                println!("{name:10} {what}");
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: cargo xtask test [JOB...] | size | jobs");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_jobs(root: &Path, names: &[String]) -> Result<(), String> {
    for n in names {
        if !JOBS.iter().any(|(name, _, _)| name == n) {
            return Err(format!("no job {n:?}; `cargo xtask jobs` lists them"));
        }
    }
    let mut passed = 0;
    let mut failed = Vec::new();
    for (name, what, job) in JOBS {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        println!("\n=== xtask job {name}: {what}");
        let t = Instant::now();
        match job(root) {
            Ok(()) => {
                passed += 1;
                println!("=== job {name} ok ({:.1} s)", t.elapsed().as_secs_f64());
            }
            Err(e) => {
                println!("=== job {name} FAILED: {e}");
                failed.push(*name);
                if *name == "setup" {
                    break;
                }
            }
        }
    }
    println!("\nxtask: {passed} passed, {} failed", failed.len());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed jobs: {}", failed.join(", ")))
    }
}

/// Runs a command in `dir`, echoing it; an error names the command.
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    println!("+ {program} {}", args.join(" "));
    let mut c = Command::new(program);
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let status = c
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` exited with {status}",
            args.join(" ")
        ))
    }
}

fn cargo(root: &Path, args: &[&str]) -> Result<(), String> {
    run(root, "cargo", args, &[])
}

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn setup(root: &Path) -> Result<(), String> {
    let mut args = vec!["target", "add"];
    args.extend_from_slice(TARGETS);
    run(root, "rustup", &args, &[])?;
    run(
        root,
        "rustup",
        &["component", "add", "clippy", "rustfmt"],
        &[],
    )?;
    run(
        root,
        "rustup",
        &[
            "component",
            "add",
            "miri",
            "rust-src",
            "--toolchain",
            "nightly",
        ],
        &[],
    )?;
    // the tools the tests use as independent peers and the firmware's
    // emulator, from Debian: (package, command, its version flag)
    let tools = [
        ("qemu-system-arm", "qemu-system-arm", "--version"),
        ("openssl", "openssl", "version"),
        ("socat", "socat", "-V"),
    ];
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(_, cmd, flag)| !have(cmd, flag))
        .map(|(pkg, _, _)| *pkg)
        .collect();
    if !missing.is_empty() {
        let sudo = if is_root() { vec![] } else { vec!["sudo"] };
        let mut update = sudo.clone();
        update.extend(["apt-get", "update", "-qq"]);
        let mut install = sudo;
        install.extend(["apt-get", "install", "-y", "--no-install-recommends"]);
        install.extend(missing.iter().copied());
        run(root, update[0], &update[1..], &[])?;
        run(root, install[0], &install[1..], &[])?;
    }
    for (pkg, cmd, flag) in tools {
        if !have(cmd, flag) {
            return Err(format!("{pkg} is still missing after apt-get"));
        }
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

fn fmt(root: &Path) -> Result<(), String> {
    cargo(root, &["fmt", "--all", "--", "--check"])?;
    for dir in ["examples/firmware", "fuzz"] {
        run(&root.join(dir), "cargo", &["fmt", "--", "--check"], &[])?;
    }
    Ok(())
}

fn clippy(root: &Path) -> Result<(), String> {
    let d = ["--", "-D", "warnings"];
    let with = |pre: &[&str]| -> Vec<String> {
        pre.iter().chain(d.iter()).map(|s| s.to_string()).collect()
    };
    for args in [
        with(&["clippy", "--workspace", "--all-targets"]),
        with(&[
            "clippy",
            "-p",
            "hio-core",
            "--all-targets",
            "--all-features",
        ]),
        // the lean configurations firmware takes, and each feature alone
        with(&["clippy", "-p", "hio-core", "--lib", "--no-default-features"]),
        with(&[
            "clippy",
            "-p",
            "hio-core",
            "--lib",
            "--no-default-features",
            "--features",
            "requests",
        ]),
        with(&[
            "clippy",
            "-p",
            "hio-core",
            "--all-targets",
            "--no-default-features",
            "--features",
            "observe",
        ]),
        with(&[
            "clippy",
            "-p",
            "hio-embedded",
            "--all-targets",
            "--features",
            "defmt",
        ]),
    ] {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        cargo(root, &a)?;
    }
    // the firmware (for thumbv7m) and the fuzz targets (so they keep
    // building; run them with `cargo +nightly fuzz run TARGET` in fuzz/)
    run(
        &root.join("examples/firmware"),
        "cargo",
        &[
            "clippy",
            "--release",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    run(
        &root.join("fuzz"),
        "cargo",
        &["clippy", "--bins", "--", "-D", "warnings"],
        &[],
    )?;
    Ok(())
}

fn test(root: &Path) -> Result<(), String> {
    // default features: `defmt` and `cortex-m` are for the firmware (defmt
    // needs a global logger at link time); clippy and nostd cover them
    cargo(root, &["test", "--workspace"])?;
    // the lean configuration firmware takes (no run-time requests): the
    // contract and property tests of hio-core (with an observer, which
    // changes no scheduling), and hio-embedded's flows
    cargo(
        root,
        &[
            "test",
            "-p",
            "hio-core",
            "--no-default-features",
            "--features",
            "observe",
            "--tests",
        ],
    )?;
    cargo(root, &["test", "-p", "hio-embedded"])?;
    // every host example that runs by itself (the echo server and line
    // client run against each other, and the real-time tree is stopped by
    // a signal, in hio-examples' own tests)
    for args in [
        &["blink"][..],
        &["deck_flow"],
        &["future_doer"],
        &["supervised"],
        &["large_tree"],
        &["realtime", "--", "2"],
    ] {
        let mut cmd = vec!["run", "-q", "-p", "hio-examples", "--example"];
        cmd.extend_from_slice(args);
        cargo(root, &cmd)?;
    }
    // the benchmarks compile and run once, quickly
    cargo(
        root,
        &[
            "bench", "-p", "hio-core", "--bench", "sched", "--", "--test",
        ],
    )?;
    cargo(
        root,
        &["bench", "-p", "hio-std", "--bench", "echo", "--", "--test"],
    )?;
    cargo(
        root,
        &[
            "bench", "-p", "hio-std", "--bench", "bridge", "--", "--test",
        ],
    )
}

fn doc(root: &Path) -> Result<(), String> {
    run(
        root,
        "cargo",
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // hio-core's docs hold together in the lean configuration too
    run(
        root,
        "cargo",
        &[
            "doc",
            "-p",
            "hio-core",
            "--no-deps",
            "--no-default-features",
        ],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )
}

fn nostd(root: &Path) -> Result<(), String> {
    for t in TARGETS {
        cargo(root, &["build", "-p", "hio-core", "--target", t])?;
        // the lean configuration firmware takes: no run-time requests
        cargo(
            root,
            &[
                "build",
                "-p",
                "hio-core",
                "--target",
                t,
                "--no-default-features",
            ],
        )?;
        cargo(root, &["build", "-p", "hio-embedded", "--target", t])?;
        cargo(
            root,
            &[
                "build",
                "-p",
                "hio-embedded",
                "--target",
                t,
                "--features",
                "defmt",
            ],
        )?;
    }
    Ok(())
}

fn firmware(root: &Path) -> Result<(), String> {
    let fw = root.join("examples/firmware");
    if !fw.join("Cargo.toml").exists() {
        return Err("examples/firmware is missing".into());
    }
    run(&fw, "cargo", &["build", "--release", "--bins"], &[])?;
    size(root)?;
    // static RAM of the serial flow's tree, per doer, measured on the target
    run(
        &fw,
        "cargo",
        &["run", "--quiet", "--release", "--bin", "sizes"],
        &[],
    )
}

fn qemu(root: &Path) -> Result<(), String> {
    // on-target conformance and the images' memory routines: harness =
    // false images run through QEMU
    run(
        &root.join("examples/firmware"),
        "cargo",
        &[
            "test",
            "--release",
            "--test",
            "conformance",
            "--test",
            "mem",
        ],
        &[],
    )?;
    cargo(
        root,
        &[
            "test",
            "-p",
            "hio-tests",
            "--test",
            "qemu",
            "--",
            "--include-ignored",
        ],
    )
}

fn miri(root: &Path) -> Result<(), String> {
    // unit, contract and request tests, and the wake board's (its wakes
    // from another thread check the atomics; the property tests' thousands
    // of random runs are too slow under Miri's interpreter)
    run(
        root,
        "cargo",
        &[
            "+nightly", "miri", "test", "-p", "hio-core", "--lib", "--test", "contract", "--test",
            "requests", "--test", "board",
        ],
        &[("MIRIFLAGS", "-Zmiri-strict-provenance")],
    )
}

/// Firmware images, their flash goals and their ceilings, in bytes. The
/// goals are what the images are meant to fit. Both images park their
/// SerialDoer on UART0's receive interrupt; in `line-echo` that path (the
/// wake board, its drain, the SerialDoer's waker, the interrupt handler)
/// takes 1,096 bytes, which 4 KiB cannot hold: its goal is 4 KiB plus
/// that, [`LINE_ECHO_IRQ`]. Since hio-core gained park and wake the
/// scheduler itself is larger too, so `line-echo` is over its goal, which
/// `size` prints (`serial-flow` is back within its). The ceilings are the
/// latest figures, rounded up to the next 256 bytes: the job fails if an
/// image grows past its ceiling, so the gap to the goal can only shrink.
const BUDGETS: &[(&str, u64, u64)] = &[
    ("serial-flow", 8 * 1024, 8_192),
    ("line-echo", 4 * 1024 + LINE_ECHO_IRQ, 6_144),
];

/// What parking `line-echo`'s SerialDoer on UART0's receive interrupt
/// costs in flash (5,904 bytes with it, 4,808 polling), by which its 4 KiB
/// goal is raised.
const LINE_ECHO_IRQ: u64 = 1_096;

/// Prints flash and static RAM of the firmware images against their goals,
/// and fails if an image is over its ceiling. (The machine has one Rust
/// toolchain, so the figures are the same on every run.)
fn size(root: &Path) -> Result<(), String> {
    let dir = root.join("examples/firmware/target/thumbv7m-none-eabi/release");
    println!(
        "{:<14} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8}  status",
        "image", "text", "data", "bss", "flash", "goal", "ceiling"
    );
    let mut over = Vec::new();
    for (bin, goal, ceiling) in BUDGETS {
        let elf = std::fs::read(dir.join(bin))
            .map_err(|e| format!("cannot read firmware image {bin}: {e} (build it first)"))?;
        let s = elf_sizes(&elf).ok_or_else(|| format!("{bin} is not a 32-bit ELF image"))?;
        let flash = s.text + s.data;
        let status = if flash <= *goal {
            "within goal".to_string()
        } else if flash <= *ceiling {
            format!("over goal by {} bytes, within ceiling", flash - goal)
        } else {
            over.push(format!("{bin} by {} bytes", flash - ceiling));
            format!("OVER CEILING by {} bytes", flash - ceiling)
        };
        println!(
            "{bin:<14} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8}  {status}",
            s.text, s.data, s.bss, flash, goal, ceiling
        );
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(format!("over the flash ceiling: {}", over.join(", ")))
    }
}

/// Berkeley-style sizes of an ELF32 little-endian image.
#[derive(Debug, Default)]
struct Sizes {
    text: u64,
    data: u64,
    bss: u64,
}

fn elf_sizes(b: &[u8]) -> Option<Sizes> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?) as usize);
    let u32_at = |o: usize| Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?) as u64);
    if b.get(0..5)? != b"\x7fELF\x01" {
        return None;
    }
    let shoff = u32_at(0x20)? as usize;
    let shentsize = u16_at(0x2e)?;
    let shnum = u16_at(0x30)?;
    let mut s = Sizes::default();
    for i in 0..shnum {
        let h = shoff + i * shentsize;
        let (kind, flags, size) = (u32_at(h + 4)?, u32_at(h + 8)?, u32_at(h + 20)?);
        const WRITE: u64 = 1;
        const ALLOC: u64 = 2;
        const NOBITS: u64 = 8;
        if flags & ALLOC == 0 {
            continue;
        }
        if kind == NOBITS {
            s.bss += size;
        } else if flags & WRITE != 0 {
            s.data += size;
        } else {
            s.text += size;
        }
    }
    Some(s)
}
