//! The exception the core raises: `ger_replay.errors.CoreError`, a subclass of the tool's root
//! `GerReplayError` and of `ValueError`, so `except GerReplayError` catches every failure of the
//! core and code written against `ValueError` still does. The class lives in Python (the root
//! error carries the file and line an error names); it is imported once, on the first error.
//! Without the package (the module loaded on its own) the error is a plain `ValueError`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static CORE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// A `CoreError` with this message.
pub fn core_error(msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    Python::attach(
        |py| match CORE_ERROR.import(py, "ger_replay.errors", "CoreError") {
            Ok(ty) => PyErr::from_type(ty.clone(), msg),
            Err(_) => PyValueError::new_err(msg),
        },
    )
}
