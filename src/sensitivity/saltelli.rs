//! Saltelli sample designs for Sobol indices (Saltelli 2002; Saltelli et al. 2010).
//!
//! Two independent base matrices A and B (N rows, D columns in the unit cube)
//! are expanded into blocks, one per base sample `i`, stacked in this order:
//! `A_i, AB_1,i, ..., AB_D,i, [BA_1,i, ..., BA_D,i], B_i`, where `AB_j` is A
//! with column j taken from B and `BA_j` is B with column j taken from A (the
//! BA rows only when second-order indices are wanted). This is the layout of
//! SALib's `saltelli.sample` / `sobol.sample`, so outputs line up with it.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::sobol_seq::{SobolSequence, MAX_DIMS};
use crate::{Error, Result};

/// How the base matrices A and B are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BaseSampling {
    /// One Sobol sequence in 2D dimensions: A is its first D columns, B the last D.
    /// `skip` points are dropped first; `shift_seed` applies a random digital shift.
    /// Use N a power of two for the best balance.
    Sobol {
        #[serde(default)]
        skip: u64,
        #[serde(default)]
        shift_seed: Option<u64>,
    },
    /// Independent uniform draws from a seeded generator (plain Monte Carlo).
    Random { seed: u64 },
}

/// A Saltelli design: rows to evaluate, in block order.
#[derive(Debug, Clone, PartialEq)]
pub struct SaltelliDesign {
    /// Number of parameters D.
    pub dims: usize,
    /// Number of base samples N.
    pub n: usize,
    /// Whether BA blocks (for second-order indices) are included.
    pub second_order: bool,
    /// The `N * rows_per_sample` rows in the unit cube.
    pub rows: Vec<Vec<f64>>,
}

impl SaltelliDesign {
    /// Rows per base sample: D + 2, or 2D + 2 with second-order indices.
    pub fn rows_per_sample(dims: usize, second_order: bool) -> usize {
        if second_order {
            2 * dims + 2
        } else {
            dims + 2
        }
    }

    /// Generate a design of `n` base samples in `dims` dimensions.
    pub fn generate(
        dims: usize,
        n: usize,
        second_order: bool,
        sampling: BaseSampling,
    ) -> Result<Self> {
        if dims == 0 || n < 2 {
            return Err(Error::Parameter {
                name: "saltelli".into(),
                message: format!(
                    "need at least 1 parameter and 2 base samples (got D={dims}, N={n})"
                ),
            });
        }
        let (a, b): (Vec<Vec<f64>>, Vec<Vec<f64>>) = match sampling {
            BaseSampling::Sobol { skip, shift_seed } => {
                if 2 * dims > MAX_DIMS {
                    return Err(Error::Parameter {
                        name: "saltelli".into(),
                        message: format!(
                            "Sobol base sampling needs 2D = {} dimensions but the direction table has {MAX_DIMS}; use random base sampling",
                            2 * dims
                        ),
                    });
                }
                let mut seq = match shift_seed {
                    Some(s) => SobolSequence::shifted(2 * dims, s)?,
                    None => SobolSequence::new(2 * dims)?,
                };
                seq.skip(skip)?;
                let pts = seq.take_points(n)?;
                pts.into_iter()
                    .map(|p| (p[..dims].to_vec(), p[dims..].to_vec()))
                    .unzip()
            }
            BaseSampling::Random { seed } => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                (0..n)
                    .map(|_| {
                        let p: Vec<f64> = (0..2 * dims).map(|_| rng.random::<f64>()).collect();
                        (p[..dims].to_vec(), p[dims..].to_vec())
                    })
                    .unzip()
            }
        };
        Self::from_ab(&a, &b, second_order)
    }

    /// Build the design from given base matrices A and B (same shape).
    pub fn from_ab(a: &[Vec<f64>], b: &[Vec<f64>], second_order: bool) -> Result<Self> {
        if a.len() != b.len() || a.is_empty() {
            return Err(Error::Parameter {
                name: "saltelli".into(),
                message: format!(
                    "A has {} rows and B {}; they must match and be non-empty",
                    a.len(),
                    b.len()
                ),
            });
        }
        let dims = a[0].len();
        for (i, (ra, rb)) in a.iter().zip(b).enumerate() {
            if ra.len() != dims || rb.len() != dims {
                return Err(Error::Parameter {
                    name: "saltelli".into(),
                    message: format!("row {i} of A or B does not have {dims} columns"),
                });
            }
        }
        let per = Self::rows_per_sample(dims, second_order);
        let mut rows = Vec::with_capacity(a.len() * per);
        for (ra, rb) in a.iter().zip(b) {
            rows.push(ra.clone());
            for j in 0..dims {
                let mut r = ra.clone();
                r[j] = rb[j];
                rows.push(r);
            }
            if second_order {
                for j in 0..dims {
                    let mut r = rb.clone();
                    r[j] = ra[j];
                    rows.push(r);
                }
            }
            rows.push(rb.clone());
        }
        Ok(Self {
            dims,
            n: a.len(),
            second_order,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_layout() {
        let a = vec![vec![0.1, 0.2]];
        let b = vec![vec![0.6, 0.8]];
        let d = SaltelliDesign::from_ab(&a, &b, true).unwrap();
        assert_eq!(
            d.rows,
            vec![
                vec![0.1, 0.2],
                vec![0.6, 0.2],
                vec![0.1, 0.8],
                vec![0.1, 0.8],
                vec![0.6, 0.2],
                vec![0.6, 0.8]
            ]
        );
    }

    #[test]
    fn generated_designs_are_reproducible() {
        let s = SaltelliDesign::generate(
            3,
            8,
            false,
            BaseSampling::Sobol {
                skip: 0,
                shift_seed: None,
            },
        )
        .unwrap();
        assert_eq!(s.rows.len(), 8 * 5);
        // Second base sample of a 6-dimensional Sobol sequence is all 0.5.
        assert_eq!(s.rows[5], vec![0.5; 3]);
        let r1 = SaltelliDesign::generate(3, 8, true, BaseSampling::Random { seed: 4 }).unwrap();
        let r2 = SaltelliDesign::generate(3, 8, true, BaseSampling::Random { seed: 4 }).unwrap();
        assert_eq!(r1, r2);
        assert_eq!(r1.rows.len(), 8 * 8);
        // 2D = 338 exceeds the 337-dimension direction table.
        assert!(SaltelliDesign::generate(
            169,
            8,
            false,
            BaseSampling::Sobol {
                skip: 0,
                shift_seed: None
            }
        )
        .is_err());
    }
}
