//! Scenarios for `hio trace` (SEMANTICS.md, "Scenario schema" and "Trace
//! format"): a scenario's JSON parsed and checked into a tree of doer specs
//! with exact nanosecond times, and the JSON Lines trace of its run, written
//! and compared by value.

mod decimal;
mod error;
mod model;
mod parse;
mod place;
mod run;
mod trace;

pub use decimal::{parse_seconds, TimeError};
pub use error::ScenarioError;
pub use model::{Action, ActionKind, DoerSpec, Scenario, Wake, Where, TOCK_NEVER};
pub use parse::parse;
pub use place::{counts, place, Placement};
#[doc(hidden)]
pub use run::trace_json_summarized;
pub use run::{
    trace, trace_json, trace_to, RunError, GROUP_CAPACITY, MAX_PASSES, ROOT_CAPACITY,
    SPARE_CAPACITY, WAKE_CAPACITY,
};
pub use trace::{compare_traces, format_tyme, DiffKind, TraceDiff, TraceWriter};
