//! Sobol low-discrepancy sequence (Sobol 1967) with the Joe-Kuo direction numbers.
//!
//! Points are generated in Gray-code order (Antonov and Saleev 1979), so the
//! first `2^m` points of every dimension are exactly the set `{k / 2^m}`; the
//! first point is the origin. Direction numbers are the `new-joe-kuo-6.21201`
//! set of Joe and Kuo (2008), "Constructing Sobol sequences with better
//! two-dimensional projections", SIAM J. Sci. Comput. 30, 2635-2654; the table
//! embedded here covers [`MAX_DIMS`] dimensions (all primitive polynomials up to
//! degree 10). Dimension 1 is the van der Corput sequence in base 2.
//!
//! An optional random digital shift (an XOR of every coordinate's bits with a
//! seeded per-dimension constant, Owen's 1995 "random digital shift") keeps the
//! net property of the sequence while making it randomised; with no shift the
//! sequence is the classic deterministic one.

use rand::{Rng, SeedableRng};

use crate::{Error, Result};

/// Number of bits of every generated coordinate (points are multiples of 2^-BITS).
const BITS: u32 = 32;

/// Joe-Kuo direction-number table for dimensions 2, 3, ...: `(a, m)` where `a`
/// encodes the interior coefficients of the primitive polynomial of degree
/// `s = m.len()` and `m` are the initial direction integers `m_1..m_s`.
#[rustfmt::skip]
const JOE_KUO: &[(u32, &[u32])] = &[
    (0, &[1]),
    (1, &[1, 3]),
    (1, &[1, 3, 1]),
    (2, &[1, 1, 1]),
    (1, &[1, 1, 3, 3]),
    (4, &[1, 3, 5, 13]),
    (2, &[1, 1, 5, 5, 17]),
    (4, &[1, 1, 5, 5, 5]),
    (7, &[1, 1, 7, 11, 19]),
    (11, &[1, 1, 5, 1, 1]),
    (13, &[1, 1, 1, 3, 11]),
    (14, &[1, 3, 5, 5, 31]),
    (1, &[1, 3, 3, 9, 7, 49]),
    (13, &[1, 1, 1, 15, 21, 21]),
    (16, &[1, 3, 1, 13, 27, 49]),
    (19, &[1, 1, 1, 15, 7, 5]),
    (22, &[1, 3, 1, 15, 13, 25]),
    (25, &[1, 1, 5, 5, 19, 61]),
    (1, &[1, 3, 7, 11, 23, 15, 103]),
    (4, &[1, 3, 7, 13, 13, 15, 69]),
    (7, &[1, 1, 3, 13, 7, 35, 63]),
    (8, &[1, 3, 5, 9, 1, 25, 53]),
    (14, &[1, 3, 1, 13, 9, 35, 107]),
    (19, &[1, 3, 1, 5, 27, 61, 31]),
    (21, &[1, 1, 5, 11, 19, 41, 61]),
    (28, &[1, 3, 5, 3, 3, 13, 69]),
    (31, &[1, 1, 7, 13, 1, 19, 1]),
    (32, &[1, 3, 7, 5, 13, 19, 59]),
    (37, &[1, 1, 3, 9, 25, 29, 41]),
    (41, &[1, 3, 5, 13, 23, 1, 55]),
    (42, &[1, 3, 7, 3, 13, 59, 17]),
    (50, &[1, 3, 1, 3, 5, 53, 69]),
    (55, &[1, 1, 5, 5, 23, 33, 13]),
    (56, &[1, 1, 7, 7, 1, 61, 123]),
    (59, &[1, 1, 7, 9, 13, 61, 49]),
    (62, &[1, 3, 3, 5, 3, 55, 33]),
    (14, &[1, 3, 1, 15, 31, 13, 49, 245]),
    (21, &[1, 3, 5, 15, 31, 59, 63, 97]),
    (22, &[1, 3, 1, 11, 11, 11, 77, 249]),
    (38, &[1, 3, 1, 11, 27, 43, 71, 9]),
    (47, &[1, 1, 7, 15, 21, 11, 81, 45]),
    (49, &[1, 3, 7, 3, 25, 31, 65, 79]),
    (50, &[1, 3, 1, 1, 19, 11, 3, 205]),
    (52, &[1, 1, 5, 9, 19, 21, 29, 157]),
    (56, &[1, 3, 7, 11, 1, 33, 89, 185]),
    (67, &[1, 3, 3, 3, 15, 9, 79, 71]),
    (70, &[1, 3, 7, 11, 15, 39, 119, 27]),
    (84, &[1, 1, 3, 1, 11, 31, 97, 225]),
    (97, &[1, 1, 1, 3, 23, 43, 57, 177]),
    (103, &[1, 3, 7, 7, 17, 17, 37, 71]),
    (115, &[1, 3, 1, 5, 27, 63, 123, 213]),
    (122, &[1, 1, 3, 5, 11, 43, 53, 133]),
    (8, &[1, 3, 5, 5, 29, 17, 47, 173, 479]),
    (13, &[1, 3, 3, 11, 3, 1, 109, 9, 69]),
    (16, &[1, 1, 1, 5, 17, 39, 23, 5, 343]),
    (22, &[1, 3, 1, 5, 25, 15, 31, 103, 499]),
    (25, &[1, 1, 1, 11, 11, 17, 63, 105, 183]),
    (44, &[1, 1, 5, 11, 9, 29, 97, 231, 363]),
    (47, &[1, 1, 5, 15, 19, 45, 41, 7, 383]),
    (52, &[1, 3, 7, 7, 31, 19, 83, 137, 221]),
    (55, &[1, 1, 1, 3, 23, 15, 111, 223, 83]),
    (59, &[1, 1, 5, 13, 31, 15, 55, 25, 161]),
    (62, &[1, 1, 3, 13, 25, 47, 39, 87, 257]),
    (67, &[1, 1, 1, 11, 21, 53, 125, 249, 293]),
    (74, &[1, 1, 7, 11, 11, 7, 57, 79, 323]),
    (81, &[1, 1, 5, 5, 17, 13, 81, 3, 131]),
    (82, &[1, 1, 7, 13, 23, 7, 65, 251, 475]),
    (87, &[1, 3, 5, 1, 9, 43, 3, 149, 11]),
    (91, &[1, 1, 3, 13, 31, 13, 13, 255, 487]),
    (94, &[1, 3, 3, 1, 5, 63, 89, 91, 127]),
    (103, &[1, 1, 3, 3, 1, 19, 123, 127, 237]),
    (104, &[1, 1, 5, 7, 23, 31, 37, 243, 289]),
    (109, &[1, 1, 5, 11, 17, 53, 117, 183, 491]),
    (122, &[1, 1, 1, 5, 1, 13, 13, 209, 345]),
    (124, &[1, 1, 3, 15, 1, 57, 115, 7, 33]),
    (137, &[1, 3, 1, 11, 7, 43, 81, 207, 175]),
    (138, &[1, 3, 1, 1, 15, 27, 63, 255, 49]),
    (143, &[1, 3, 5, 3, 27, 61, 105, 171, 305]),
    (145, &[1, 1, 5, 3, 1, 3, 57, 249, 149]),
    (152, &[1, 1, 3, 5, 5, 57, 15, 13, 159]),
    (157, &[1, 1, 1, 11, 7, 11, 105, 141, 225]),
    (167, &[1, 3, 3, 5, 27, 59, 121, 101, 271]),
    (173, &[1, 3, 5, 9, 11, 49, 51, 59, 115]),
    (176, &[1, 1, 7, 1, 23, 45, 125, 71, 419]),
    (181, &[1, 1, 3, 5, 23, 5, 105, 109, 75]),
    (182, &[1, 1, 7, 15, 7, 11, 67, 121, 453]),
    (185, &[1, 3, 7, 3, 9, 13, 31, 27, 449]),
    (191, &[1, 3, 1, 15, 19, 39, 39, 89, 15]),
    (194, &[1, 1, 1, 1, 1, 33, 73, 145, 379]),
    (199, &[1, 3, 1, 15, 15, 43, 29, 13, 483]),
    (218, &[1, 1, 7, 3, 19, 27, 85, 131, 431]),
    (220, &[1, 3, 3, 3, 5, 35, 23, 195, 349]),
    (227, &[1, 3, 3, 7, 9, 27, 39, 59, 297]),
    (229, &[1, 1, 3, 9, 11, 17, 13, 241, 157]),
    (230, &[1, 3, 7, 15, 25, 57, 33, 189, 213]),
    (234, &[1, 1, 7, 1, 9, 55, 73, 83, 217]),
    (236, &[1, 3, 3, 13, 19, 27, 23, 113, 249]),
    (241, &[1, 3, 5, 3, 23, 43, 3, 253, 479]),
    (244, &[1, 1, 5, 5, 11, 5, 45, 117, 217]),
    (253, &[1, 3, 3, 7, 29, 37, 33, 123, 147]),
    (4, &[1, 3, 1, 15, 5, 5, 37, 227, 223, 459]),
    (13, &[1, 1, 7, 5, 5, 39, 63, 255, 135, 487]),
    (19, &[1, 3, 1, 7, 9, 7, 87, 249, 217, 599]),
    (22, &[1, 1, 3, 13, 9, 47, 7, 225, 363, 247]),
    (50, &[1, 3, 7, 13, 19, 13, 9, 67, 9, 737]),
    (55, &[1, 3, 5, 5, 19, 59, 7, 41, 319, 677]),
    (64, &[1, 1, 5, 3, 31, 63, 15, 43, 207, 789]),
    (69, &[1, 1, 7, 9, 13, 39, 3, 47, 497, 169]),
    (98, &[1, 3, 1, 7, 21, 17, 97, 19, 415, 905]),
    (107, &[1, 3, 7, 1, 3, 31, 71, 111, 165, 127]),
    (115, &[1, 1, 5, 11, 1, 61, 83, 119, 203, 847]),
    (121, &[1, 3, 3, 13, 9, 61, 19, 97, 47, 35]),
    (127, &[1, 1, 7, 7, 15, 29, 63, 95, 417, 469]),
    (134, &[1, 3, 1, 9, 25, 9, 71, 57, 213, 385]),
    (140, &[1, 3, 5, 13, 31, 47, 101, 57, 39, 341]),
    (145, &[1, 1, 3, 3, 31, 57, 125, 173, 365, 551]),
    (152, &[1, 3, 7, 1, 13, 57, 67, 157, 451, 707]),
    (158, &[1, 1, 1, 7, 21, 13, 105, 89, 429, 965]),
    (161, &[1, 1, 5, 9, 17, 51, 45, 119, 157, 141]),
    (171, &[1, 3, 7, 7, 13, 45, 91, 9, 129, 741]),
    (181, &[1, 3, 7, 1, 23, 57, 67, 141, 151, 571]),
    (194, &[1, 1, 3, 11, 17, 47, 93, 107, 375, 157]),
    (199, &[1, 3, 3, 5, 11, 21, 43, 51, 169, 915]),
    (203, &[1, 1, 5, 3, 15, 55, 101, 67, 455, 625]),
    (208, &[1, 3, 5, 9, 1, 23, 29, 47, 345, 595]),
    (227, &[1, 3, 7, 7, 5, 49, 29, 155, 323, 589]),
    (242, &[1, 3, 3, 7, 5, 41, 127, 61, 261, 717]),
    (251, &[1, 3, 7, 7, 17, 23, 117, 67, 129, 1009]),
    (253, &[1, 1, 3, 13, 11, 39, 21, 207, 123, 305]),
    (265, &[1, 1, 3, 9, 29, 3, 95, 47, 231, 73]),
    (266, &[1, 3, 1, 9, 1, 29, 117, 21, 441, 259]),
    (274, &[1, 3, 1, 13, 21, 39, 125, 211, 439, 723]),
    (283, &[1, 1, 7, 3, 17, 63, 115, 89, 49, 773]),
    (289, &[1, 3, 7, 13, 11, 33, 101, 107, 63, 73]),
    (295, &[1, 1, 5, 5, 13, 57, 63, 135, 437, 177]),
    (301, &[1, 1, 3, 7, 27, 63, 93, 47, 417, 483]),
    (316, &[1, 1, 3, 1, 23, 29, 1, 191, 49, 23]),
    (319, &[1, 1, 3, 15, 25, 55, 9, 101, 219, 607]),
    (324, &[1, 3, 1, 7, 7, 19, 51, 251, 393, 307]),
    (346, &[1, 3, 3, 3, 25, 55, 17, 75, 337, 3]),
    (352, &[1, 1, 1, 13, 25, 17, 65, 45, 479, 413]),
    (361, &[1, 1, 7, 7, 27, 49, 99, 161, 213, 727]),
    (367, &[1, 3, 5, 1, 23, 5, 43, 41, 251, 857]),
    (382, &[1, 3, 3, 7, 11, 61, 39, 87, 383, 835]),
    (395, &[1, 1, 3, 15, 13, 7, 29, 7, 505, 923]),
    (398, &[1, 3, 7, 1, 5, 31, 47, 157, 445, 501]),
    (400, &[1, 1, 3, 7, 1, 43, 9, 147, 115, 605]),
    (412, &[1, 3, 3, 13, 5, 1, 119, 211, 455, 1001]),
    (419, &[1, 1, 3, 5, 13, 19, 3, 243, 75, 843]),
    (422, &[1, 3, 7, 7, 1, 19, 91, 249, 357, 589]),
    (426, &[1, 1, 1, 9, 1, 25, 109, 197, 279, 411]),
    (428, &[1, 3, 1, 15, 23, 57, 59, 135, 191, 75]),
    (433, &[1, 1, 5, 15, 29, 21, 39, 253, 383, 349]),
    (446, &[1, 3, 3, 5, 19, 45, 61, 151, 199, 981]),
    (454, &[1, 3, 5, 13, 9, 61, 107, 141, 141, 1]),
    (457, &[1, 3, 1, 11, 27, 25, 85, 105, 309, 979]),
    (472, &[1, 3, 3, 11, 19, 7, 115, 223, 349, 43]),
    (493, &[1, 1, 7, 9, 21, 39, 123, 21, 275, 927]),
    (505, &[1, 1, 7, 13, 15, 41, 47, 243, 303, 437]),
    (508, &[1, 1, 1, 7, 7, 3, 15, 99, 409, 719]),
];

/// Largest number of dimensions the embedded direction-number table supports.
pub const MAX_DIMS: usize = JOE_KUO.len() + 1;

/// A Sobol sequence generator over `dims` dimensions.
#[derive(Debug, Clone)]
pub struct SobolSequence {
    dims: usize,
    /// Direction numbers `v[d][k]` scaled to `BITS` bits.
    directions: Vec<[u32; BITS as usize]>,
    /// Current integer state of every coordinate.
    state: Vec<u32>,
    /// Per-dimension XOR mask of the random digital shift (zeros if unshifted).
    shift: Vec<u32>,
    /// Index of the next point to emit.
    index: u64,
}

impl SobolSequence {
    /// A deterministic (unshifted) Sobol sequence in `dims` dimensions.
    pub fn new(dims: usize) -> Result<Self> {
        if dims == 0 || dims > MAX_DIMS {
            return Err(Error::Parameter {
                name: "dims".into(),
                message: format!(
                    "the Sobol sequence supports 1..={MAX_DIMS} dimensions, asked for {dims}"
                ),
            });
        }
        let mut directions = Vec::with_capacity(dims);
        // Dimension 1: v_k = 2^(BITS-k).
        let mut first = [0u32; BITS as usize];
        for (k, v) in first.iter_mut().enumerate() {
            *v = 1u32 << (BITS - 1 - k as u32);
        }
        directions.push(first);
        for &(a, m) in JOE_KUO.iter().take(dims - 1) {
            let s = m.len();
            let mut v = [0u32; BITS as usize];
            for k in 0..(BITS as usize) {
                if k < s {
                    v[k] = m[k] << (BITS - 1 - k as u32);
                } else {
                    // Recurrence (Bratley and Fox 1988): v_k = v_{k-s} ^ (v_{k-s} >> s)
                    // ^ XOR over i=1..s-1 of a_i * v_{k-i}.
                    let mut x = v[k - s] ^ (v[k - s] >> s);
                    for i in 1..s {
                        if (a >> (s - 1 - i)) & 1 == 1 {
                            x ^= v[k - i];
                        }
                    }
                    v[k] = x;
                }
            }
            directions.push(v);
        }
        Ok(Self {
            dims,
            directions,
            state: vec![0; dims],
            shift: vec![0; dims],
            index: 0,
        })
    }

    /// A Sobol sequence with a random digital shift drawn from `seed`.
    pub fn shifted(dims: usize, seed: u64) -> Result<Self> {
        let mut seq = Self::new(dims)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for s in seq.shift.iter_mut() {
            *s = rng.random::<u32>();
        }
        Ok(seq)
    }

    /// Number of dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The next point of the sequence (the first call returns point 0, the origin
    /// when unshifted).
    pub fn next_point(&mut self) -> Result<Vec<f64>> {
        if self.index >= (1u64 << BITS) {
            return Err(Error::Unsupported(format!(
                "the Sobol sequence is exhausted after 2^{BITS} points"
            )));
        }
        let scale = 1.0 / (1u64 << BITS) as f64;
        let point = self
            .state
            .iter()
            .zip(&self.shift)
            .map(|(&x, &s)| (x ^ s) as f64 * scale)
            .collect();
        // Gray-code update: flip the direction number of the lowest zero bit of the index.
        let c = (!self.index).trailing_zeros() as usize;
        if c < BITS as usize {
            for (st, v) in self.state.iter_mut().zip(&self.directions) {
                *st ^= v[c];
            }
        }
        self.index += 1;
        Ok(point)
    }

    /// Skip `n` points.
    pub fn skip(&mut self, n: u64) -> Result<()> {
        for _ in 0..n {
            self.next_point()?;
        }
        Ok(())
    }

    /// The next `n` points as rows.
    pub fn take_points(&mut self, n: usize) -> Result<Vec<Vec<f64>>> {
        (0..n).map(|_| self.next_point()).collect()
    }
}

/// Check the embedded table: every `m_k` must be odd and below `2^k`.
/// Returns the first offending `(dimension, k)` if any.
pub fn check_direction_table() -> Option<(usize, usize)> {
    for (row, &(a, m)) in JOE_KUO.iter().enumerate() {
        let s = m.len();
        if s == 0 || (s > 1 && a >= (1 << (s - 1))) {
            return Some((row + 2, 0));
        }
        for (k, &mk) in m.iter().enumerate() {
            if mk % 2 == 0 || mk >= (1 << (k + 1)) {
                return Some((row + 2, k + 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        assert_eq!(check_direction_table(), None);
        assert!(MAX_DIMS >= 64);
        assert_eq!(MAX_DIMS, 161);
        // Degrees are non-decreasing through the table.
        for w in JOE_KUO.windows(2) {
            assert!(w[0].1.len() <= w[1].1.len());
        }
    }

    #[test]
    fn first_points_match_published_values() {
        // First 8 points in Gray-code order, worked by hand from the direction
        // numbers: dim 2 (x + 1) gives v = 1/2, 3/4, 5/8; dim 3 (x^2 + x + 1,
        // m = 1, 3) gives v = 1/2, 3/4, 3/8. Equal to scipy.stats.qmc.Sobol(3,
        // scramble=False).
        let mut s = SobolSequence::new(3).unwrap();
        let pts = s.take_points(8).unwrap();
        let d1 = [0.0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125];
        let d2 = [0.0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625];
        let d3 = [0.0, 0.5, 0.25, 0.75, 0.625, 0.125, 0.875, 0.375];
        for i in 0..8 {
            assert_eq!(pts[i], vec![d1[i], d2[i], d3[i]], "point {i}");
        }
    }

    #[test]
    fn every_dimension_is_stratified() {
        let mut s = SobolSequence::new(MAX_DIMS).unwrap();
        let pts = s.take_points(256).unwrap();
        for d in 0..MAX_DIMS {
            let mut seen = [false; 256];
            for p in &pts {
                let k = (p[d] * 256.0) as usize;
                assert!(!seen[k], "dimension {} repeats cell {k}", d + 1);
                seen[k] = true;
            }
        }
    }

    #[test]
    fn shift_keeps_stratification_and_depends_on_seed() {
        let a = SobolSequence::shifted(5, 1)
            .unwrap()
            .take_points(64)
            .unwrap();
        let b = SobolSequence::shifted(5, 1)
            .unwrap()
            .take_points(64)
            .unwrap();
        let c = SobolSequence::shifted(5, 2)
            .unwrap()
            .take_points(64)
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        for d in 0..5 {
            let mut cells: Vec<usize> = a.iter().map(|p| (p[d] * 64.0) as usize).collect();
            cells.sort_unstable();
            assert_eq!(cells, (0..64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn too_many_dimensions_is_an_error() {
        assert!(SobolSequence::new(MAX_DIMS + 1).is_err());
        assert!(SobolSequence::new(0).is_err());
    }
}
