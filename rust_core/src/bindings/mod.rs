//! PyO3 bindings: argument conversion and GIL handling only; the logic lives in the pure modules.

use pyo3::prelude::*;

mod bootstrap;
mod errors;
mod frames;
mod json_text;
mod labels;
mod metrics;
mod parquet_chunks;
mod parse;
mod tally;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    bootstrap::register(m)?;
    frames::register(m)?;
    json_text::register(m)?;
    labels::register(m)?;
    metrics::register(m)?;
    parquet_chunks::register(m)?;
    parse::register(m)?;
    tally::register(m)?;
    Ok(())
}
