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
//!
//! [`soft_kappa`] is the other continuous companion: every cell counts as
//! permafrost with the logistic probability `1 / (1 + exp(m / tau))` of its
//! margin `m` (width `tau`, C), and Kappa is computed from the expected
//! confusion matrix. It equals the hard Kappa as `tau -> 0`, and unlike the
//! additive misfit it also rewards correct cells for moving away from the
//! threshold, so a surrogate model sees the trade-off between neighbouring
//! cells on either side of 0 C on the same scale as Kappa itself.

use crate::metrics::kappa::ClassScheme;
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

/// Smoothed Cohen's Kappa (unweighted) of simulated margins against reference
/// class codes (1 = permafrost; 2 and 3 = not).
///
/// Each cell `i` is permafrost with probability
/// `p_i = 1 / (1 + exp(m_i / tau))` (`m_i` its margin, C; `tau` the width of
/// the logistic boundary, C) and adds `p_i` to the permafrost column of its
/// reference row and `1 - p_i` to a non-permafrost column: under
/// [`ClassScheme::TwoClass`] the single "not permafrost" column; under
/// [`ClassScheme::ThreeClass`] the simulated class when it is 2 or 3, and
/// class 2 (seasonally frozen, the neighbour of permafrost) when the cell is
/// simulated as permafrost. Kappa is then `(po - pe) / (1 - pe)` of that
/// expected matrix, `po` its diagonal share and `pe = sum_k row_k col_k / n^2`.
///
/// `tau = 0` gives the hard Kappa of the simulated codes (`p_i` is 1 for a
/// simulated permafrost cell, else 0); as `tau -> 0` the smoothed value tends
/// to it for every cell whose margin is not exactly 0. A matrix whose whole
/// mass lies in one cell (`pe = 1`) scores 1, the rule of the hard Kappa.
/// Cells with reference code `reference_nodata` or a non-finite margin are
/// skipped. Errors when lengths differ, `tau` is negative or not finite, a
/// code is not 1, 2, 3 or nodata, or no cell is scored.
pub fn soft_kappa(
    reference: &[u8],
    reference_nodata: Option<u8>,
    simulated: &[u8],
    margins: &[f64],
    scheme: ClassScheme,
    tau: f64,
) -> Result<f64> {
    if reference.len() != margins.len() || simulated.len() != margins.len() {
        return Err(Error::Grid(format!(
            "soft Kappa: {} reference cells, {} simulated cells, {} margins",
            reference.len(),
            simulated.len(),
            margins.len()
        )));
    }
    if !(tau.is_finite() && tau >= 0.0) {
        return Err(Error::Parameter {
            name: "smoothing".into(),
            message: format!("the width of the soft Kappa must be finite and >= 0, got {tau} C"),
        });
    }
    // Matrix index of a class code: 2 classes (0 permafrost, 1 not) or 3 (code - 1).
    let three = scheme == ClassScheme::ThreeClass;
    let k = if three { 3 } else { 2 };
    let mut n = [[0.0f64; 3]; 3];
    for (i, ((&r, &s), &m)) in reference.iter().zip(simulated).zip(margins).enumerate() {
        if Some(r) == reference_nodata || !m.is_finite() {
            continue;
        }
        let bad = |c: u8, what: &str| {
            Error::Other(format!(
                "soft Kappa: {what} cell {i} holds code {c}, not 1, 2, 3 or nodata"
            ))
        };
        if !(1..=3).contains(&r) {
            return Err(bad(r, "reference"));
        }
        if !(1..=3).contains(&s) {
            return Err(bad(s, "simulated"));
        }
        let row = if three {
            (r - 1) as usize
        } else {
            usize::from(r != 1)
        };
        let p = if tau == 0.0 {
            if s == 1 {
                1.0
            } else {
                0.0
            }
        } else {
            // Logistic of -m / tau, written to stay finite for large |m / tau|.
            let z = m / tau;
            if z >= 0.0 {
                let e = (-z).exp();
                e / (1.0 + e)
            } else {
                1.0 / (1.0 + z.exp())
            }
        };
        let other = if three && s != 1 { (s - 1) as usize } else { 1 };
        n[row][0] += p;
        n[row][other] += 1.0 - p;
    }
    let total: f64 = n.iter().flatten().sum();
    if total <= 0.0 {
        return Err(Error::Other("soft Kappa: no cell is scored".into()));
    }
    let po = (0..k).map(|j| n[j][j]).sum::<f64>() / total;
    let pe = (0..k)
        .map(|j| {
            let row: f64 = n[j].iter().sum();
            let col: f64 = (0..k).map(|i| n[i][j]).sum();
            row * col
        })
        .sum::<f64>()
        / (total * total);
    Ok(if pe >= 1.0 - 1e-15 {
        1.0
    } else {
        (po - pe) / (1.0 - pe)
    })
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

    #[test]
    fn soft_kappa_matches_a_hand_computed_value() {
        // Two permafrost reference cells, two not. Margins +-ln 3 with tau = 1
        // give permafrost probabilities 1/4 (m = ln 3) and 3/4 (m = -ln 3).
        let l3 = 3f64.ln();
        let r = [1u8, 1, 2, 3];
        let m = [-l3, l3, l3, -l3];
        let s = [1u8, 2, 2, 1];
        // Expected matrix (rows reference PF / not, columns simulated PF / not):
        // [[3/4 + 1/4, 1/4 + 3/4], [1/4 + 3/4, 3/4 + 1/4]] = [[1, 1], [1, 1]]:
        // po = 1/2, pe = 1/2, Kappa 0.
        let v = soft_kappa(&r, None, &s, &m, ClassScheme::TwoClass, 1.0).unwrap();
        assert!(v.abs() < 1e-12, "{v}");
        // Margins -ln 3, -ln 3, +ln 3, +ln 3 (all on the right side):
        // [[3/2, 1/2], [1/2, 3/2]], po = 3/4, pe = 1/2, Kappa 1/2.
        let m = [-l3, -l3, l3, l3];
        let s = [1u8, 1, 2, 2];
        let v = soft_kappa(&r, None, &s, &m, ClassScheme::TwoClass, 1.0).unwrap();
        assert!((v - 0.5).abs() < 1e-12, "{v}");
        // Three classes: the non-permafrost share of the first two cells (simulated
        // permafrost) goes to class 2, that of the last two to their simulated class.
        let r3 = [1u8, 2, 3, 3];
        let s3 = [1u8, 1, 3, 2];
        let m3 = [-l3, -l3, l3, l3];
        // Rows: cell 1 [3/4, 1/4, 0]; cell 2 [3/4, 1/4, 0]; row 3 is the sum of
        // cell 3 (sim 3) [1/4, 0, 3/4] and cell 4 (sim 2) [1/4, 3/4, 0].
        let n = [[0.75, 0.25, 0.0], [0.75, 0.25, 0.0], [0.5, 0.75, 0.75]];
        let total = 4.0;
        let po = (n[0][0] + n[1][1] + n[2][2]) / total;
        let rows: Vec<f64> = n.iter().map(|r| r.iter().sum()).collect();
        let cols: Vec<f64> = (0..3).map(|j| n.iter().map(|r| r[j]).sum()).collect();
        let pe = (0..3).map(|j| rows[j] * cols[j]).sum::<f64>() / (total * total);
        let want = (po - pe) / (1.0 - pe);
        let v = soft_kappa(&r3, None, &s3, &m3, ClassScheme::ThreeClass, 1.0).unwrap();
        assert!((v - want).abs() < 1e-12, "{v} vs {want}");
        // po = 1.75 / 4, pe = (1 * 2 + 1 * 1.25 + 2 * 0.75) / 16 = 4.75 / 16.
        assert!((want - (0.4375 - 0.296875) / (1.0 - 0.296875)).abs() < 1e-12);
    }

    #[test]
    fn soft_kappa_tends_to_the_hard_kappa() {
        use crate::metrics::kappa::{score_class_codes, KappaWeights};
        // The worked example: reference [1,1,1,1,0,0,0,0,1,0] against
        // simulated [1,1,1,0,0,0,1,0,1,1] (1 = permafrost), Kappa 0.4; margins
        // of the simulated side of 0 C, one of them within 0.01 C of it.
        let r: Vec<u8> = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]
            .iter()
            .map(|&c| if c == 1 { 1 } else { 2 })
            .collect();
        let s: Vec<u8> = [1, 1, 1, 0, 0, 0, 1, 0, 1, 1]
            .iter()
            .map(|&c| if c == 1 { 1 } else { 3 })
            .collect();
        let m: Vec<f64> = s
            .iter()
            .zip([0.3, 1.2, 0.01, 0.5, 2.0, 0.7, 0.2, 0.9, 0.4, 1.1])
            .map(|(&c, a)| if c == 1 { -a } else { a })
            .collect();
        for scheme in [ClassScheme::TwoClass, ClassScheme::ThreeClass] {
            let hard = score_class_codes(&r, &s, None, None, None, scheme, KappaWeights::None)
                .unwrap()
                .kappa;
            let at0 = soft_kappa(&r, None, &s, &m, scheme, 0.0).unwrap();
            assert!((at0 - hard).abs() < 1e-12, "{scheme:?}: {at0} vs {hard}");
            let small = soft_kappa(&r, None, &s, &m, scheme, 1e-4).unwrap();
            assert!((small - hard).abs() < 1e-9, "{scheme:?}: {small} vs {hard}");
            // Widening the boundary moves the value away from the hard Kappa,
            // continuously.
            let wide = soft_kappa(&r, None, &s, &m, scheme, 0.5).unwrap();
            assert!((wide - hard).abs() > 1e-3);
            let near = soft_kappa(&r, None, &s, &m, scheme, 0.5 + 1e-9).unwrap();
            assert!((wide - near).abs() < 1e-6);
        }
        assert!(
            (soft_kappa(&r, None, &s, &m, ClassScheme::TwoClass, 0.0).unwrap() - 0.4).abs() < 1e-12
        );
        // A correct cell moving away from 0 C raises the smoothed value; hard Kappa stays.
        let mut m2 = m.clone();
        m2[2] = -0.5;
        assert!(
            soft_kappa(&r, None, &s, &m2, ClassScheme::TwoClass, 0.1).unwrap()
                > soft_kappa(&r, None, &s, &m, ClassScheme::TwoClass, 0.1).unwrap()
        );
    }

    #[test]
    fn soft_kappa_rejects_bad_input() {
        let ts = ClassScheme::TwoClass;
        assert!(soft_kappa(&[1], None, &[1, 2], &[0.0, 1.0], ts, 0.1).is_err());
        assert!(soft_kappa(&[1], None, &[1], &[-1.0], ts, -0.1).is_err());
        assert!(soft_kappa(&[1], None, &[1], &[-1.0], ts, f64::NAN).is_err());
        assert!(soft_kappa(&[7], None, &[1], &[-1.0], ts, 0.1).is_err());
        assert!(soft_kappa(&[1], None, &[0], &[-1.0], ts, 0.1).is_err());
        assert!(soft_kappa(&[255], Some(255), &[1], &[-1.0], ts, 0.1).is_err());
        // Nodata and NaN-margin cells are skipped.
        let v = soft_kappa(
            &[1, 2, 255, 1],
            Some(255),
            &[1, 2, 1, 2],
            &[-5.0, 5.0, 0.0, f64::NAN],
            ts,
            0.01,
        )
        .unwrap();
        assert!((v - 1.0).abs() < 1e-12, "{v}");
    }
}
