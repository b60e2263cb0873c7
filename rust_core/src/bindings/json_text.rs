//! `json_dumps`: plain Python values (dict with str keys, list, tuple, str, int, float, bool,
//! None; exact types, not subclasses) as `json.dumps(value, indent=2)` writes them, floats
//! rounded and NaN as null (`crate::json_text`).

use std::fmt::Write;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::json_text::{push_float, push_str};

/// Nesting deeper than this is left to Python.
const MAX_DEPTH: usize = 256;

/// Writes `v` at `indent` spaces; false when it holds something else than plain values.
fn write(
    v: &Bound<'_, PyAny>,
    out: &mut String,
    indent: usize,
    digits: Option<u32>,
) -> PyResult<bool> {
    if v.is_none() {
        out.push_str("null");
    } else if v.is_exact_instance_of::<PyBool>() {
        out.push_str(if v.is_truthy()? { "true" } else { "false" });
    } else if let Ok(f) = v.cast_exact::<PyFloat>() {
        push_float(out, f.value(), digits);
    } else if let Ok(s) = v.cast_exact::<PyString>() {
        match s.to_str() {
            Ok(s) => push_str(out, s),
            Err(_) => return Ok(false), // lone surrogates
        }
    } else if v.is_exact_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => {
                let _ = write!(out, "{i}");
            }
            Err(_) => out.push_str(v.str()?.to_str()?),
        }
    } else if let Ok(d) = v.cast_exact::<PyDict>() {
        if d.is_empty() {
            out.push_str("{}");
            return Ok(true);
        }
        if indent / 2 >= MAX_DEPTH {
            return Ok(false);
        }
        out.push('{');
        for (i, (k, x)) in d.iter().enumerate() {
            let Ok(k) = k.cast_exact::<PyString>() else {
                return Ok(false);
            };
            let Ok(k) = k.to_str() else {
                return Ok(false);
            };
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.extend(std::iter::repeat_n(' ', indent + 2));
            push_str(out, k);
            out.push_str(": ");
            if !write(&x, out, indent + 2, digits)? {
                return Ok(false);
            }
        }
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent));
        out.push('}');
    } else if v.is_exact_instance_of::<PyList>() || v.is_exact_instance_of::<PyTuple>() {
        if v.len()? == 0 {
            out.push_str("[]");
            return Ok(true);
        }
        if indent / 2 >= MAX_DEPTH {
            return Ok(false);
        }
        out.push('[');
        for (i, x) in v.try_iter()?.enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.extend(std::iter::repeat_n(' ', indent + 2));
            if !write(&x?, out, indent + 2, digits)? {
                return Ok(false);
            }
        }
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent));
        out.push(']');
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// `value` as indented JSON text, floats rounded to `digits` decimals and NaN as null; None
/// when it holds anything but plain values (the caller's encoder takes those).
#[pyfunction]
#[pyo3(signature = (value, digits = None))]
fn json_dumps(value: &Bound<'_, PyAny>, digits: Option<u32>) -> PyResult<Option<String>> {
    let mut out = String::new();
    Ok(write(value, &mut out, 0, digits)?.then_some(out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(json_dumps, m)?)?;
    Ok(())
}
