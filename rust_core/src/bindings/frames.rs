use super::errors::core_error;
use numpy::PyReadonlyArray3;
use pyo3::prelude::*;

use crate::frames::{self, FrameError, PlanMethod};

fn value_error(e: FrameError) -> PyErr {
    core_error(e.to_string())
}

/// The `k` frame indices to decode from a video of `n_frames` frames, by the rule `method`
/// ("public": the public code's rule; "centred": the middle of each of k equal segments).
#[pyfunction]
#[pyo3(signature = (n_frames, k, method = "public"))]
fn frame_plan(n_frames: usize, k: usize, method: &str) -> PyResult<Vec<usize>> {
    let m: PlanMethod = method.parse().map_err(value_error)?;
    frames::plan(n_frames, k, m).map_err(value_error)
}

/// The `k` frames that differ most from the first one, in time order, from grayscale
/// thumbnails shaped (T, H, W).
#[pyfunction]
fn motion_peak_plan(
    py: Python<'_>,
    thumbs: PyReadonlyArray3<'_, u8>,
    k: usize,
) -> PyResult<Vec<usize>> {
    let a = thumbs.as_array();
    let (t, h, w) = a.dim();
    match a.as_slice() {
        Some(s) => py.detach(|| frames::motion_peaks(s, t, h, w, k)),
        None => {
            let v: Vec<u8> = a.iter().copied().collect();
            py.detach(|| frames::motion_peaks(&v, t, h, w, k))
        }
    }
    .map_err(value_error)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(frame_plan, m)?)?;
    m.add_function(wrap_pyfunction!(motion_peak_plan, m)?)?;
    Ok(())
}
