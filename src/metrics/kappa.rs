//! Confusion matrix, overall accuracy and Cohen's Kappa of categorical maps.
//!
//! The definitions follow scikit-learn's `confusion_matrix` and
//! `cohen_kappa_score` (Cohen 1960, Educ. Psychol. Meas. 20:37-46; weighted
//! Kappa: Cohen 1968, Psychol. Bull. 70:213-220):
//!
//! - the confusion matrix `C[i][j]` counts cells whose reference label is
//!   `labels[i]` and whose simulated label is `labels[j]` (rows: reference,
//!   columns: simulated, as sklearn's `confusion_matrix(y_true, y_pred)`);
//! - the expected matrix is `E = outer(row sums, column sums) / n`;
//! - the weights are `w[i][j] = 1 - [i == j]` (unweighted), `|i - j|` (linear)
//!   or `(i - j)^2` (quadratic), with `i, j` the *positions* of the labels in
//!   the ordered label list (not the label values);
//! - `kappa = 1 - sum(w * C) / sum(w * E)`.
//!
//! **Single-class maps.** When both maps hold one and the same class on every
//! scored cell, `sum(w * E) = 0` and Kappa is undefined (sklearn returns NaN).
//! calimap returns **Kappa = 1** in that case: the denominator only vanishes
//! when every cell agrees (chance agreement `pe = 1` forces observed agreement
//! `po = 1`), and a calibration objective must not turn NaN on a perfect match.
//! [`KappaScore::degenerate`] is set so callers can tell this case apart.
//! When a single class occurs in one map only, Kappa is well defined (0).
//! A map pair with no scored cell at all is an error.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The weighting of disagreements in Cohen's Kappa.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KappaWeights {
    /// Every disagreement counts the same (Cohen 1960).
    #[default]
    None,
    /// Disagreement weighted by the distance between label positions (Cohen 1968).
    Linear,
    /// Disagreement weighted by the squared distance between label positions.
    Quadratic,
}

impl KappaWeights {
    /// Parse `none`, `linear` or `quadratic` (case-insensitive).
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "none" | "unweighted" => Ok(Self::None),
            "linear" => Ok(Self::Linear),
            "quadratic" => Ok(Self::Quadratic),
            other => Err(Error::Other(format!(
                "unknown Kappa weighting `{other}` (expected none, linear or quadratic)"
            ))),
        }
    }

    /// The disagreement weight of label positions `i` and `j`.
    pub fn weight(self, i: usize, j: usize) -> f64 {
        let d = (i as f64 - j as f64).abs();
        match self {
            Self::None => {
                if i == j {
                    0.0
                } else {
                    1.0
                }
            }
            Self::Linear => d,
            Self::Quadratic => d * d,
        }
    }
}

/// A confusion matrix over an ordered list of labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// The labels, in the order of rows and columns.
    pub labels: Vec<i64>,
    /// `counts[i][j]`: cells with reference `labels[i]` and simulated `labels[j]`.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// An all-zero matrix over `labels`, which must be distinct.
    pub fn new(labels: &[i64]) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::Other("confusion matrix: empty label list".into()));
        }
        for (k, a) in labels.iter().enumerate() {
            if labels[..k].contains(a) {
                return Err(Error::Other(format!(
                    "confusion matrix: label {a} is listed twice"
                )));
            }
        }
        let n = labels.len();
        Ok(Self {
            labels: labels.to_vec(),
            counts: vec![vec![0; n]; n],
        })
    }

    /// Build from paired label sequences (`reference[k]` against `simulated[k]`).
    ///
    /// With `labels = None`, the labels are the sorted union of both
    /// sequences (sklearn's default). With explicit labels, pairs in which
    /// either value is not listed are skipped, as sklearn does.
    pub fn from_labels(
        reference: &[i64],
        simulated: &[i64],
        labels: Option<&[i64]>,
    ) -> Result<Self> {
        if reference.len() != simulated.len() {
            return Err(Error::Other(format!(
                "confusion matrix: reference has {} values but simulated has {}",
                reference.len(),
                simulated.len()
            )));
        }
        let labels: Vec<i64> = match labels {
            Some(l) => l.to_vec(),
            None => {
                let mut l: Vec<i64> = reference.iter().chain(simulated).copied().collect();
                l.sort_unstable();
                l.dedup();
                l
            }
        };
        let mut cm = Self::new(&labels)?;
        for (&r, &s) in reference.iter().zip(simulated) {
            cm.add(r, s);
        }
        Ok(cm)
    }

    /// Count one pair; returns false (and counts nothing) if either label is not listed.
    pub fn add(&mut self, reference: i64, simulated: i64) -> bool {
        let (Some(i), Some(j)) = (self.position(reference), self.position(simulated)) else {
            return false;
        };
        self.counts[i][j] += 1;
        true
    }

    /// The row/column position of `label`.
    pub fn position(&self, label: i64) -> Option<usize> {
        self.labels.iter().position(|&l| l == label)
    }

    /// Number of counted pairs.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Share of pairs on the diagonal; NaN when nothing was counted.
    pub fn overall_accuracy(&self) -> f64 {
        let n = self.total();
        if n == 0 {
            return f64::NAN;
        }
        let diag: u64 = (0..self.labels.len()).map(|i| self.counts[i][i]).sum();
        diag as f64 / n as f64
    }

    /// Cohen's Kappa with the given weighting (see the module documentation
    /// for the single-class rule). Errors when no pair was counted.
    pub fn kappa(&self, weights: KappaWeights) -> Result<f64> {
        Ok(self.kappa_parts(weights)?.0)
    }

    /// Kappa and whether it was degenerate (single shared class).
    fn kappa_parts(&self, weights: KappaWeights) -> Result<(f64, bool)> {
        let n = self.total();
        if n == 0 {
            return Err(Error::Other(
                "Kappa: no cell is scored (all nodata, masked or outside the label set)".into(),
            ));
        }
        let k = self.labels.len();
        let rows: Vec<f64> = self
            .counts
            .iter()
            .map(|r| r.iter().sum::<u64>() as f64)
            .collect();
        let cols: Vec<f64> = (0..k)
            .map(|j| self.counts.iter().map(|r| r[j]).sum::<u64>() as f64)
            .collect();
        let nf = n as f64;
        let mut observed = 0.0;
        let mut expected = 0.0;
        for i in 0..k {
            for j in 0..k {
                let w = weights.weight(i, j);
                observed += w * self.counts[i][j] as f64;
                expected += w * rows[i] * cols[j] / nf;
            }
        }
        if expected == 0.0 {
            // Only possible when every scored cell holds one shared class.
            return Ok((1.0, true));
        }
        Ok((1.0 - observed / expected, false))
    }

    /// Kappa, overall accuracy and the matrix in one value.
    pub fn score(&self, weights: KappaWeights) -> Result<KappaScore> {
        let (kappa, degenerate) = self.kappa_parts(weights)?;
        Ok(KappaScore {
            kappa,
            overall_accuracy: self.overall_accuracy(),
            n: self.total(),
            weights,
            degenerate,
            confusion: self.clone(),
        })
    }
}

/// The agreement of two categorical maps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KappaScore {
    /// Cohen's Kappa (1 for a single shared class, see [`KappaScore::degenerate`]).
    pub kappa: f64,
    /// Overall accuracy: share of scored cells that agree.
    pub overall_accuracy: f64,
    /// Number of scored cells.
    pub n: u64,
    /// The weighting used for Kappa.
    pub weights: KappaWeights,
    /// True when Kappa is undefined in the usual sense (both maps hold one
    /// and the same class everywhere) and was set to 1.
    pub degenerate: bool,
    /// The confusion matrix (rows: reference, columns: simulated).
    pub confusion: ConfusionMatrix,
}

/// How frozen-ground class codes (1 permafrost, 2 seasonally frozen, 3 not
/// frozen) are grouped before scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClassScheme {
    /// Permafrost (code 1, scored as label 1) against everything else (codes
    /// 2 and 3, scored as label 0).
    TwoClass,
    /// The three codes 1, 2, 3 as they are.
    ThreeClass,
}

impl ClassScheme {
    /// The scheme for `--classes 2` or `--classes 3`.
    pub fn from_count(n: u32) -> Result<Self> {
        match n {
            2 => Ok(Self::TwoClass),
            3 => Ok(Self::ThreeClass),
            other => Err(Error::Other(format!(
                "number of classes must be 2 or 3, got {other}"
            ))),
        }
    }

    /// The ordered labels of the scheme.
    pub fn labels(self) -> &'static [i64] {
        match self {
            Self::TwoClass => &[0, 1],
            Self::ThreeClass => &[1, 2, 3],
        }
    }

    /// The scored label of a map code; `None` for a code the scheme does not know.
    pub fn label(self, code: i64) -> Option<i64> {
        match (self, code) {
            (Self::TwoClass, 1) => Some(1),
            (Self::TwoClass, 2 | 3) => Some(0),
            (Self::ThreeClass, 1..=3) => Some(code),
            _ => None,
        }
    }
}

/// Score two class-code maps stored as flat arrays of equal length.
///
/// A cell is scored when neither map holds its nodata value there, `mask`
/// (if given) is true there, and both codes belong to `scheme`. A code that
/// is neither nodata nor a class of the scheme is an error naming the cell
/// index, so a wrongly coded map cannot pass silently.
pub fn score_class_codes(
    reference: &[u8],
    simulated: &[u8],
    reference_nodata: Option<u8>,
    simulated_nodata: Option<u8>,
    mask: Option<&[bool]>,
    scheme: ClassScheme,
    weights: KappaWeights,
) -> Result<KappaScore> {
    if reference.len() != simulated.len() {
        return Err(Error::Grid(format!(
            "reference has {} cells but simulated has {}",
            reference.len(),
            simulated.len()
        )));
    }
    if let Some(m) = mask {
        if m.len() != reference.len() {
            return Err(Error::Grid(format!(
                "mask has {} cells but the maps have {}",
                m.len(),
                reference.len()
            )));
        }
    }
    let mut cm = ConfusionMatrix::new(scheme.labels())?;
    for (k, (&r, &s)) in reference.iter().zip(simulated).enumerate() {
        if Some(r) == reference_nodata || Some(s) == simulated_nodata {
            continue;
        }
        if let Some(m) = mask {
            if !m[k] {
                continue;
            }
        }
        let lr = scheme.label(r as i64).ok_or_else(|| {
            Error::Other(format!(
                "reference map: cell {k} holds code {r}, which is neither nodata nor a class of {scheme:?}"
            ))
        })?;
        let ls = scheme.label(s as i64).ok_or_else(|| {
            Error::Other(format!(
                "simulated map: cell {k} holds code {s}, which is neither nodata nor a class of {scheme:?}"
            ))
        })?;
        cm.add(lr, ls);
    }
    cm.score(weights)
}

/// Score two class-code rasters on one grid (see [`score_class_codes`]);
/// a grid mismatch is an [`Error::Grid`] saying what differs.
pub fn score_class_rasters(
    reference: &crate::io::geotiff::Raster<u8>,
    simulated: &crate::io::geotiff::Raster<u8>,
    mask: Option<&[bool]>,
    scheme: ClassScheme,
    weights: KappaWeights,
) -> Result<KappaScore> {
    reference
        .grid
        .check_same(&simulated.grid)
        .map_err(|e| Error::Grid(format!("reference against simulated map: {e}")))?;
    score_class_codes(
        &reference.data,
        &simulated.data,
        reference.nodata,
        simulated.nodata,
        mask,
        scheme,
        weights,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn two_class_worked_example_matches_sklearn() {
        let r = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0];
        let s = [1, 1, 1, 0, 0, 0, 1, 0, 1, 1];
        let cm = ConfusionMatrix::from_labels(&r, &s, None).unwrap();
        assert_eq!(cm.labels, vec![0, 1]);
        assert_eq!(cm.counts, vec![vec![3, 2], vec![1, 4]]);
        assert!(close(cm.overall_accuracy(), 0.7, 1e-12));
        assert!(close(cm.kappa(KappaWeights::None).unwrap(), 0.4, 1e-12));
    }

    #[test]
    fn four_class_worked_example_matches_sklearn() {
        let r = [0, 0, 1, 1, 2, 2, 3, 3, 3, 0, 1, 2];
        let s = [0, 1, 1, 1, 2, 3, 3, 3, 2, 0, 0, 2];
        let cm = ConfusionMatrix::from_labels(&r, &s, None).unwrap();
        // sklearn: 0.5555..., 0.7333..., 0.8666...
        assert!(close(
            cm.kappa(KappaWeights::None).unwrap(),
            5.0 / 9.0,
            1e-12
        ));
        assert!(close(
            cm.kappa(KappaWeights::Linear).unwrap(),
            11.0 / 15.0,
            1e-12
        ));
        assert!(close(
            cm.kappa(KappaWeights::Quadratic).unwrap(),
            13.0 / 15.0,
            1e-12
        ));
        assert!(close(cm.overall_accuracy(), 8.0 / 12.0, 1e-12));
    }

    #[test]
    fn weights_use_label_positions_not_values() {
        // Labels 10, 20, 40 behave exactly like 0, 1, 2.
        let r = [10, 10, 20, 40, 40, 20];
        let s = [10, 20, 20, 40, 10, 40];
        let a = ConfusionMatrix::from_labels(&r, &s, None).unwrap();
        let r2: Vec<i64> = r
            .iter()
            .map(|v| [10, 20, 40].iter().position(|x| x == v).unwrap() as i64)
            .collect();
        let s2: Vec<i64> = s
            .iter()
            .map(|v| [10, 20, 40].iter().position(|x| x == v).unwrap() as i64)
            .collect();
        let b = ConfusionMatrix::from_labels(&r2, &s2, None).unwrap();
        for w in [
            KappaWeights::None,
            KappaWeights::Linear,
            KappaWeights::Quadratic,
        ] {
            assert!(close(a.kappa(w).unwrap(), b.kappa(w).unwrap(), 1e-15));
        }
    }

    #[test]
    fn single_class_rule() {
        let cm = ConfusionMatrix::from_labels(&[1, 1, 1], &[1, 1, 1], Some(&[0, 1])).unwrap();
        let s = cm.score(KappaWeights::None).unwrap();
        assert_eq!(s.kappa, 1.0);
        assert!(s.degenerate);
        // One class in the reference only: chance agreement equals observed, Kappa 0.
        let cm = ConfusionMatrix::from_labels(&[1, 1, 1, 1], &[1, 0, 1, 1], Some(&[0, 1])).unwrap();
        let s = cm.score(KappaWeights::None).unwrap();
        assert!(close(s.kappa, 0.0, 1e-12));
        assert!(!s.degenerate);
        // Nothing scored: an error.
        let cm = ConfusionMatrix::from_labels(&[], &[], Some(&[0, 1])).unwrap();
        assert!(cm.kappa(KappaWeights::None).is_err());
    }

    #[test]
    fn perfect_and_opposite_agreement() {
        let r = [0, 1, 0, 1];
        let cm = ConfusionMatrix::from_labels(&r, &r, None).unwrap();
        assert_eq!(cm.kappa(KappaWeights::None).unwrap(), 1.0);
        let s = [1, 0, 1, 0];
        let cm = ConfusionMatrix::from_labels(&r, &s, None).unwrap();
        assert!(close(cm.kappa(KappaWeights::None).unwrap(), -1.0, 1e-12));
    }

    #[test]
    fn maps_honour_nodata_mask_and_schemes() {
        // Codes: 1 permafrost, 2 seasonal, 3 non-frozen, 255 nodata.
        let r = [1u8, 1, 2, 3, 255, 1, 2, 2];
        let s = [1u8, 2, 2, 2, 1, 255, 3, 1];
        let mask = [true, true, true, true, true, true, true, false];
        let three = score_class_codes(
            &r,
            &s,
            Some(255),
            Some(255),
            Some(&mask),
            ClassScheme::ThreeClass,
            KappaWeights::None,
        )
        .unwrap();
        // Scored cells 0..=3 and 6: (1,1) (1,2) (2,2) (3,2) (2,3).
        assert_eq!(three.n, 5);
        assert_eq!(
            three.confusion.counts,
            vec![vec![1, 1, 0], vec![0, 1, 1], vec![0, 1, 0]]
        );
        let two = score_class_codes(
            &r,
            &s,
            Some(255),
            Some(255),
            Some(&mask),
            ClassScheme::TwoClass,
            KappaWeights::None,
        )
        .unwrap();
        // Labels [0 (not permafrost), 1 (permafrost)].
        assert_eq!(two.confusion.counts, vec![vec![3, 0], vec![1, 1]]);
        assert!(close(two.overall_accuracy, 0.8, 1e-12));
        // po = 0.8, pe = (3*4 + 2*1)/25 = 0.56, kappa = 0.24/0.44.
        assert!(close(two.kappa, 0.24 / 0.44, 1e-12));
    }

    #[test]
    fn unknown_codes_and_lengths_are_errors() {
        let e = score_class_codes(
            &[1, 7],
            &[1, 1],
            None,
            None,
            None,
            ClassScheme::ThreeClass,
            KappaWeights::None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("cell 1"), "{e}");
        assert!(score_class_codes(
            &[1],
            &[1, 1],
            None,
            None,
            None,
            ClassScheme::TwoClass,
            KappaWeights::None
        )
        .is_err());
        assert!(ConfusionMatrix::new(&[1, 1]).is_err());
        assert!(KappaWeights::parse("cubic").is_err());
        assert_eq!(KappaWeights::parse("Linear").unwrap(), KappaWeights::Linear);
    }
}
