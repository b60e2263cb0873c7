//! ger-replay's computational core. Every module but `bindings` is pure Rust, free of PyO3 and
//! of I/O, and is tested with plain `cargo test`; `bindings` (feature `python`) is the thin PyO3
//! layer that maturin builds into `ger_replay._core`.

pub mod bootstrap;
pub mod frames;
pub mod json_text;
pub mod labels;
pub mod metrics;
pub mod parquet_chunks;
pub mod parse;
pub mod tally;

#[cfg(feature = "python")]
mod bindings;
