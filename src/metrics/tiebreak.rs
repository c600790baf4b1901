//! A continuous companion of Kappa for calibration.
//!
//! Kappa is piecewise constant in the model parameters: a small change moves
//! no cell across the permafrost threshold, so a surrogate model sees flat
//! plateaus. The permafrost margin of [`crate::diagnostics::AnnualDiagnostics`]
//! (the two-year maximum temperature of the coldest layer, C; <= 0 means
//! permafrost) varies smoothly, and its distance to the wrong side of 0 C
//! says how far each misclassified cell is from agreeing.
//!
//! [`margin_misfit`] is the mean over scored cells of that distance:
//! `max(m, 0)` where the reference says permafrost and `max(-m, 0)` where it
//! does not. It is 0 when the permafrost / not-permafrost split agrees
//! everywhere (up to cells exactly at 0 C) and grows continuously with
//! the temperature error of disagreeing cells. A calibration can maximise,
//! for example, `kappa - w * misfit` with a small weight `w` (per C), so the
//! reported objective remains Kappa where it changes.

use crate::{Error, Result};

/// Mean permafrost-margin misfit (C) of simulated `margins` against the
/// reference class codes (1 = permafrost; 2 and 3 = not), over cells that are
/// not `reference_nodata`, have a finite margin and are selected by `mask`.
/// Errors when lengths differ or no cell is scored.
pub fn margin_misfit(
    reference: &[u8],
    reference_nodata: Option<u8>,
    margins: &[f64],
    mask: Option<&[bool]>,
) -> Result<f64> {
    if reference.len() != margins.len() || mask.is_some_and(|m| m.len() != reference.len()) {
        return Err(Error::Grid(format!(
            "margin misfit: {} reference cells, {} margins{}",
            reference.len(),
            margins.len(),
            mask.map(|m| format!(", {} mask cells", m.len()))
                .unwrap_or_default()
        )));
    }
    let mut sum = 0.0;
    let mut n = 0usize;
    for (k, (&c, &m)) in reference.iter().zip(margins).enumerate() {
        if Some(c) == reference_nodata || !m.is_finite() || mask.is_some_and(|mk| !mk[k]) {
            continue;
        }
        let miss = match c {
            1 => m.max(0.0),
            2 | 3 => (-m).max(0.0),
            other => {
                return Err(Error::Other(format!(
                    "margin misfit: reference cell {k} holds code {other}, not 1, 2, 3 or nodata"
                )))
            }
        };
        sum += miss;
        n += 1;
    }
    if n == 0 {
        return Err(Error::Other("margin misfit: no cell is scored".into()));
    }
    Ok(sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_misfit() {
        // Reference: PF, PF, SFG, NF, nodata, PF (masked out).
        let r = [1u8, 1, 2, 3, 255, 1];
        // Margins: agree (-0.5), 0.4 too warm, 0.2 too cold, agrees (+3), -, -.
        let m = [-0.5, 0.4, -0.2, 3.0, -9.0, 7.0];
        let mask = [true, true, true, true, true, false];
        let v = margin_misfit(&r, Some(255), &m, Some(&mask)).unwrap();
        assert!((v - (0.4 + 0.2) / 4.0).abs() < 1e-12);
        // Without the mask the last cell adds 7 C of misfit.
        let v = margin_misfit(&r, Some(255), &m, None).unwrap();
        assert!((v - (0.4 + 0.2 + 7.0) / 5.0).abs() < 1e-12);
        // Perfect agreement gives 0; a NaN margin is skipped.
        assert_eq!(
            margin_misfit(&[1, 2], None, &[-1.0, f64::NAN], None).unwrap(),
            0.0
        );
        assert!(margin_misfit(&[1], None, &[0.0, 1.0], None).is_err());
        assert!(margin_misfit(&[9], None, &[0.0], None).is_err());
        assert!(margin_misfit(&[255], Some(255), &[0.0], None).is_err());
    }

    #[test]
    fn misfit_is_continuous_across_the_threshold() {
        // One permafrost reference cell: the misfit falls linearly to 0 at 0 C.
        let f = |m: f64| margin_misfit(&[1], None, &[m], None).unwrap();
        assert!((f(0.2) - 0.2).abs() < 1e-12);
        assert!((f(1e-9) - 1e-9).abs() < 1e-18);
        assert_eq!(f(0.0), 0.0);
        assert_eq!(f(-0.3), 0.0);
    }
}
