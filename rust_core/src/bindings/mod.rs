//! PyO3 bindings: argument conversion and GIL handling only; the logic lives in the pure modules.

use pyo3::prelude::*;

mod labels;
mod metrics;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    labels::register(m)?;
    metrics::register(m)?;
    Ok(())
}
