//! Frame index plans for video samples (PROTOCOL.md part 7), computed from a frame count or from
//! small grayscale thumbnails. Decoding is not done here: the caller decodes only the planned
//! frames.
//!
//! - [`plan_public`]: the public code's rule. Pad a short video by repeating its last frame, cut
//!   the frame count `L` down to a multiple of `k`, and take `0, L/k, 2L/k, ...`: the first frame
//!   of each of `k` equal segments.
//! - [`plan_centred`]: the middle frame of each of `k` equal segments.
//! - [`motion_peaks`]: the `k` frames that differ most from the first (onset) frame, kept apart
//!   from one another, in time order. On a micro-expression clip the top one is the apex frame.

/// Why no plan can be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The video has no frame at all.
    NoFrames,
    /// `k` was 0.
    ZeroK,
    /// The thumbnail buffer does not hold `t * h * w` bytes.
    BadThumbs {
        len: usize,
        t: usize,
        h: usize,
        w: usize,
    },
    /// A thumbnail has no pixel (`h` or `w` is 0).
    EmptyThumb,
    /// An unknown plan name.
    UnknownMethod(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::NoFrames => write!(f, "the video has no frames"),
            FrameError::ZeroK => write!(f, "the number of frames to sample must be at least 1"),
            FrameError::BadThumbs { len, t, h, w } => write!(
                f,
                "thumbnails hold {len} bytes, not {t} x {h} x {w} = {}",
                t.saturating_mul(*h).saturating_mul(*w)
            ),
            FrameError::EmptyThumb => write!(f, "thumbnails must be at least 1 x 1 pixel"),
            FrameError::UnknownMethod(m) => write!(
                f,
                "unknown frame plan {m:?}; known: public, centred (motion-peak needs thumbnails)"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// The plans that need nothing but the frame count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanMethod {
    Public,
    Centred,
}

impl std::str::FromStr for PlanMethod {
    type Err = FrameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "public" => Ok(PlanMethod::Public),
            "centred" | "centered" => Ok(PlanMethod::Centred),
            other => Err(FrameError::UnknownMethod(other.to_string())),
        }
    }
}

fn check(n_frames: usize, k: usize) -> Result<(), FrameError> {
    if k == 0 {
        return Err(FrameError::ZeroK);
    }
    if n_frames == 0 {
        return Err(FrameError::NoFrames);
    }
    Ok(())
}

/// The public code's rule: indices into the real frames (a padded index is the last frame).
/// Always `k` indices, non-decreasing, each `< n_frames`.
pub fn plan_public(n_frames: usize, k: usize) -> Result<Vec<usize>, FrameError> {
    check(n_frames, k)?;
    let padded = n_frames.max(k);
    let step = padded / k; // >= 1; truncating L to a multiple of k keeps the step L / k
    Ok((0..k).map(|i| (i * step).min(n_frames - 1)).collect())
}

/// The middle frame of each of `k` equal segments: `floor((2i + 1) * n / (2k))`.
/// Always `k` indices, non-decreasing, each `< n_frames`.
pub fn plan_centred(n_frames: usize, k: usize) -> Result<Vec<usize>, FrameError> {
    check(n_frames, k)?;
    let (n, k2) = (n_frames as u128, 2 * k as u128);
    Ok((0..k)
        .map(|i| {
            let idx = ((2 * i as u128 + 1) * n / k2) as usize;
            idx.min(n_frames - 1)
        })
        .collect())
}

/// A plan by name ("public" or "centred").
pub fn plan(n_frames: usize, k: usize, method: PlanMethod) -> Result<Vec<usize>, FrameError> {
    match method {
        PlanMethod::Public => plan_public(n_frames, k),
        PlanMethod::Centred => plan_centred(n_frames, k),
    }
}

/// How much each frame differs from the first: the mean absolute pixel difference of its
/// thumbnail to frame 0's (frame 0 scores 0). `thumbs` is `t` frames of `h x w` bytes, row-major.
pub fn change_scores(thumbs: &[u8], t: usize, h: usize, w: usize) -> Result<Vec<f64>, FrameError> {
    if h == 0 || w == 0 {
        return Err(FrameError::EmptyThumb);
    }
    let size = h.checked_mul(w).ok_or(FrameError::BadThumbs {
        len: thumbs.len(),
        t,
        h,
        w,
    })?;
    if t.checked_mul(size) != Some(thumbs.len()) {
        return Err(FrameError::BadThumbs {
            len: thumbs.len(),
            t,
            h,
            w,
        });
    }
    if t == 0 {
        return Err(FrameError::NoFrames);
    }
    let first = &thumbs[..size];
    Ok(thumbs
        .chunks_exact(size)
        .map(|f| {
            let sum: u64 = f
                .iter()
                .zip(first)
                .map(|(&a, &b)| u64::from(a.abs_diff(b)))
                .sum();
            sum as f64 / size as f64
        })
        .collect())
}

/// The `k` frames of largest change from the onset frame, in time order.
///
/// Frames are taken greedily by score (ties to the earlier frame); once a frame is taken, frames
/// closer than `t / (2k)` to it are passed over while others remain, so the picks spread over the
/// distinct moments of change rather than crowding one peak. With fewer than `k` frames the last
/// frame repeats, as in the public rule.
pub fn motion_peaks(
    thumbs: &[u8],
    t: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<Vec<usize>, FrameError> {
    if k == 0 {
        return Err(FrameError::ZeroK);
    }
    let scores = change_scores(thumbs, t, h, w)?;
    let mut order: Vec<usize> = (0..t).collect();
    // Stable sort: equal scores keep time order, so ties go to the earlier frame.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let radius = t / (2 * k);
    let mut taken: Vec<usize> = Vec::with_capacity(k);
    for &i in &order {
        if taken.len() == k {
            break;
        }
        if taken.iter().all(|&j| i.abs_diff(j) > radius) {
            taken.push(i);
        }
    }
    // Too few far-apart frames: fill with the best of the rest.
    for &i in &order {
        if taken.len() == k {
            break;
        }
        if !taken.contains(&i) {
            taken.push(i);
        }
    }
    while taken.len() < k {
        taken.push(t - 1);
    }
    taken.sort_unstable();
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public code, transcribed: pad, truncate, arange(0, L, L // k).
    fn public_reference(n: usize, k: usize) -> Vec<usize> {
        let mut frames: Vec<usize> = (0..n).collect();
        while frames.len() < k {
            frames.push(*frames.last().unwrap());
        }
        let tgt = frames.len() / k * k;
        frames.truncate(tgt);
        let step = frames.len() / k;
        (0..frames.len()).step_by(step).map(|i| frames[i]).collect()
    }

    #[test]
    fn public_matches_the_transcribed_rule() {
        for n in 1..200 {
            for k in 1..6 {
                assert_eq!(
                    plan_public(n, k).unwrap(),
                    public_reference(n, k),
                    "n={n} k={k}"
                );
            }
        }
    }

    #[test]
    fn public_known_values() {
        assert_eq!(plan_public(250, 3).unwrap(), vec![0, 83, 166]);
        assert_eq!(plan_public(10, 2).unwrap(), vec![0, 5]);
        assert_eq!(plan_public(2, 3).unwrap(), vec![0, 1, 1]);
        assert_eq!(plan_public(1, 3).unwrap(), vec![0, 0, 0]);
    }

    #[test]
    fn centred_known_values() {
        assert_eq!(plan_centred(9, 3).unwrap(), vec![1, 4, 7]);
        assert_eq!(plan_centred(250, 3).unwrap(), vec![41, 125, 208]);
        assert_eq!(plan_centred(1, 2).unwrap(), vec![0, 0]);
        assert_eq!(plan_centred(usize::MAX, 2).unwrap().len(), 2);
    }

    #[test]
    fn plans_stay_in_range_and_ordered() {
        for n in 1..120 {
            for k in 1..8 {
                for m in [PlanMethod::Public, PlanMethod::Centred] {
                    let p = plan(n, k, m).unwrap();
                    assert_eq!(p.len(), k);
                    assert!(p.iter().all(|&i| i < n));
                    assert!(p.windows(2).all(|w| w[0] <= w[1]));
                }
            }
        }
    }

    #[test]
    fn errors() {
        assert_eq!(plan_public(0, 3), Err(FrameError::NoFrames));
        assert_eq!(plan_centred(5, 0), Err(FrameError::ZeroK));
        assert!("bogus".parse::<PlanMethod>().is_err());
        assert_eq!(
            "centred".parse::<PlanMethod>().unwrap(),
            PlanMethod::Centred
        );
        assert!(matches!(
            motion_peaks(&[0; 10], 3, 2, 2, 1),
            Err(FrameError::BadThumbs { .. })
        ));
        assert_eq!(motion_peaks(&[], 0, 2, 2, 1), Err(FrameError::NoFrames));
        assert_eq!(
            motion_peaks(&[0; 4], 1, 0, 4, 1),
            Err(FrameError::EmptyThumb)
        );
    }

    fn clip(levels: &[u8], px: usize) -> Vec<u8> {
        levels
            .iter()
            .flat_map(|&v| std::iter::repeat_n(v, px))
            .collect()
    }

    #[test]
    fn motion_peak_finds_the_apex() {
        // onset 0, rising to an apex at frame 6, then back
        let levels = [10, 10, 12, 20, 40, 70, 90, 60, 30, 12, 10];
        let thumbs = clip(&levels, 16);
        assert_eq!(
            motion_peaks(&thumbs, levels.len(), 4, 4, 1).unwrap(),
            vec![6]
        );
        let s = change_scores(&thumbs, levels.len(), 4, 4).unwrap();
        assert_eq!(s[0], 0.0);
        assert_eq!(s[6], 80.0);
    }

    #[test]
    fn motion_peaks_spread_over_distinct_events() {
        // two bumps: around frame 5 and around frame 25 in 30 frames
        let mut levels = vec![0u8; 30];
        for (i, v) in [(4, 50), (5, 100), (6, 90), (24, 60), (25, 80), (26, 70)] {
            levels[i] = v;
        }
        let thumbs = clip(&levels, 4);
        assert_eq!(motion_peaks(&thumbs, 30, 2, 2, 2).unwrap(), vec![5, 25]);
    }

    #[test]
    fn motion_peaks_fill_and_repeat() {
        let thumbs = clip(&[0, 5], 1);
        assert_eq!(motion_peaks(&thumbs, 2, 1, 1, 3).unwrap(), vec![0, 1, 1]);
        let flat = clip(&[7; 5], 1);
        // no change anywhere: ties go to the earliest frames
        assert_eq!(motion_peaks(&flat, 5, 1, 1, 2).unwrap(), vec![0, 2]);
    }
}
