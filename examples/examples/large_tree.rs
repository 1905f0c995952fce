//! A large tree without a large stack: a Doist of 10 000 doers (about
//! 260 KB inline) built at compile time by its `const fn` constructor into
//! a `thread_local!` slot, so no 260 KB value is ever built on a stack and
//! copied. It runs on a thread whose stack is 128 KiB: a stack temporary of
//! that Doist would overflow it.
//!
//! ```text
//! cargo run -p hio-examples --example large_tree
//! ```

use std::cell::{Cell, RefCell};

use hio_core::{Cx, Doer, Doist, End, Fault, SimClock, Step, Tick, Tock};

const N: usize = 10_000;

/// Runs every tock, counting into the thread's total.
struct Counter;

impl Doer for Counter {
    fn tock(&self) -> Tock {
        Tock::from_millis(10)
    }
    fn recur(&mut self, _: &mut Cx<'_>) -> Result<Step, Fault> {
        RUNS.with(|r| r.set(r.get() + 1));
        Ok(Step::Continue)
    }
}

thread_local! {
    /// How many doer-runs the tree made.
    static RUNS: Cell<u64> = const { Cell::new(0) };
    /// The tree's Doist, made by a `const fn` at compile time.
    static TREE: RefCell<Doist<'static, N>> = const {
        RefCell::new(Doist::ticking(Tick::millis::<10>()).with_limit(Tock::from_secs(1)))
    };
}

fn run() -> Result<(End, u64), String> {
    // the doers on the heap, for the life of the program
    let doers: &'static mut [Counter] = Vec::from_iter((0..N).map(|_| Counter)).leak();
    TREE.with_borrow_mut(|doist| {
        doist
            .add_all(doers.iter_mut().map(|d| d as &mut dyn Doer))
            .map_err(|e| e.to_string())?;
        let end = doist.run(&mut SimClock::new(), None).end;
        Ok((end, RUNS.with(Cell::get)))
    })
}

fn main() {
    let small_stack = std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(128 * 1024)
        .spawn(run);
    let result = match small_stack {
        Ok(handle) => handle
            .join()
            .map_err(|_| "the tree's thread panicked".to_string()),
        Err(e) => Err(format!("cannot start a thread: {e}")),
    };
    match result {
        Ok(Ok((end, runs))) => {
            println!(
                "{N} doers in a Doist of {} bytes, run on a 128 KiB stack: {} after {runs} doer-runs",
                std::mem::size_of::<Doist<'static, N>>(),
                end.as_str()
            );
            // 100 passes of 10 ms in 1 s, every doer in each
            let ok = end == End::Limit && runs == 100 * N as u64;
            std::process::exit(if ok { 0 } else { 1 });
        }
        Ok(Err(e)) | Err(e) => {
            eprintln!("large_tree: {e}");
            std::process::exit(1);
        }
    }
}
