//! Tabulated powers x^y for one exponent y, built once per soil class: the
//! freeze curve's liq^(-bx) (Koren et al. 1999) and the Clapp-Hornberger
//! r^(b+1) of the hydraulic conductivity and diffusivity (Cosby et al.
//! 1984) cost a table lookup and a cubic instead of a logarithm and an
//! exponential.
//!
//! The knots are spaced 2^-7 of the binade (relative spacing 1/256 to
//! 1/128): knot j sits at the f64 whose bits are j << 45, so the cell of x
//! and its offset t in [0, 1) come from the bits of x. Each cell holds the
//! cubic Hermite interpolant of x^y through its two knots (values and
//! derivatives exact): continuous with a continuous derivative, monotone
//! where x^y is, with relative error below |y (y - 1) (y - 2) (y - 3)| /
//! (384 * 128^4), e.g. 2.2e-8 for y = -5.5 and 1.4e-7 for y = 12.55 (bounded
//! in the tests). Outside its range the table falls back to the exact power.

/// Bits below the knot index: 52 mantissa bits less 7 index bits.
const SHIFT: u32 = 45;
/// 2^-45: the offset within a cell from the low mantissa bits.
const CELL_SCALE: f64 = 1.0 / (1u64 << SHIFT) as f64;

/// x^y tabulated for x in [2^e_lo, 2^e_hi).
#[derive(Clone, Debug, PartialEq)]
pub struct PowerTable {
    y: f64,
    /// Knot index of the first knot (bits of 2^e_lo >> 45).
    first: u64,
    /// Cubic coefficients per cell, in t: c0 + t (c1 + t (c2 + t c3)).
    cells: Vec<[f64; 4]>,
}

impl PowerTable {
    /// The table of x^`y` covering at least [`x_min`, `x_max`] (both positive
    /// and finite, x_min <= x_max): whole binades from the one holding x_min
    /// through the one holding x_max.
    pub fn new(y: f64, x_min: f64, x_max: f64) -> Self {
        let ok = x_min.is_normal() && x_max.is_finite() && x_min > 0.0 && x_max >= x_min;
        if !ok || !y.is_finite() {
            return Self {
                y,
                first: 0,
                cells: Vec::new(),
            };
        }
        let e_lo = x_min.to_bits() >> 52;
        let e_hi = (x_max.to_bits() >> 52) + 1;
        let first = e_lo << (52 - SHIFT);
        let last = e_hi << (52 - SHIFT);
        let knot = |j: u64| f64::from_bits(j << SHIFT);
        // Each knot's value and scaled slope once, shared by its two cells.
        let values: Vec<(f64, f64)> = (first..=last)
            .map(|j| {
                let x = knot(j);
                let f = x.powf(y);
                (x, f)
            })
            .collect();
        let cells = values
            .windows(2)
            .map(|w| {
                let ((x0, f0), (x1, f1)) = (w[0], w[1]);
                let h = x1 - x0;
                // Derivatives times the cell width: y x^(y - 1) h.
                let (d0, d1) = (y * f0 / x0 * h, y * f1 / x1 * h);
                [
                    f0,
                    d0,
                    3.0 * (f1 - f0) - 2.0 * d0 - d1,
                    2.0 * (f0 - f1) + d0 + d1,
                ]
            })
            .collect();
        Self { y, first, cells }
    }

    /// The exponent y.
    pub fn exponent(&self) -> f64 {
        self.y
    }

    /// x^y: interpolated inside the table's range, else `x.powf(y)` (x > 0
    /// expected; other x give what `powf` gives).
    #[inline]
    pub fn pow(&self, x: f64) -> f64 {
        let bits = x.to_bits();
        let j = (bits >> SHIFT).wrapping_sub(self.first);
        match self.cells.get(j as usize) {
            Some(c) => {
                let t = (bits & ((1u64 << SHIFT) - 1)) as f64 * CELL_SCALE;
                c[0] + t * (c[1] + t * (c[2] + t * c[3]))
            }
            None => x.powf(self.y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest relative error against `powf` at many points of [lo, hi],
    /// including every knot and cell midpoint of the range.
    fn worst(t: &PowerTable, lo: f64, hi: f64) -> f64 {
        let n = 200_000;
        let mut w = 0.0f64;
        for i in 0..=n {
            let x = lo * (hi / lo).powf(i as f64 / n as f64);
            let e = (t.pow(x) - x.powf(t.exponent())).abs() / x.powf(t.exponent());
            w = w.max(e);
        }
        for j in t.first..t.first + t.cells.len() as u64 {
            for x in [
                f64::from_bits(j << SHIFT),
                f64::from_bits((j << SHIFT) | (1 << (SHIFT - 1))),
            ] {
                let e = (t.pow(x) - x.powf(t.exponent())).abs() / x.powf(t.exponent());
                w = w.max(e);
            }
        }
        w
    }

    #[test]
    fn freeze_curve_powers_within_their_hermite_bound() {
        // liq^(-bx) of the Koren (1999) curve, bx = min(b, 5.5), liq in [0.02, 0.5].
        for bx in [2.79, 4.26, 5.25, 5.5] {
            let y = -bx;
            let t = PowerTable::new(y, 0.02, 0.5);
            let bound = (y * (y - 1.0) * (y - 2.0) * (y - 3.0)).abs() / (384.0 * 128f64.powi(4));
            let w = worst(&t, 0.02, 0.5);
            assert!(w < bound, "y {y}: error {w:e} over bound {bound:e}");
            assert!(w < 3e-8, "y {y}: error {w:e}");
        }
    }

    #[test]
    fn hydraulic_powers_within_their_hermite_bound() {
        // r^(b+1) of the Clapp-Hornberger D and K, r in [0.01, 1), b up to 11.55.
        for b in [2.79, 4.26, 5.25, 8.72, 11.55] {
            let y = b + 1.0;
            let t = PowerTable::new(y, 0.01, 1.0);
            let bound = (y * (y - 1.0) * (y - 2.0) * (y - 3.0)).abs() / (384.0 * 128f64.powi(4));
            let w = worst(&t, 0.01, 0.999_999);
            assert!(w < bound, "y {y}: error {w:e} over bound {bound:e}");
            assert!(w < 1e-6, "y {y}: error {w:e}");
        }
    }

    #[test]
    fn exact_at_knots_and_outside_the_range() {
        let t = PowerTable::new(-5.5, 0.02, 0.5);
        for x in [0.015625, 0.03125, 0.25, 0.5 - 0.5 / 256.0] {
            assert_eq!(t.pow(x), x.powf(-5.5), "knot {x}");
        }
        for x in [1e-3, 0.0155, 1.0, 3.0] {
            assert_eq!(t.pow(x), x.powf(-5.5), "outside {x}");
        }
        assert!(t.pow(0.0).is_infinite() && t.pow(-1.0).is_nan() && t.pow(f64::NAN).is_nan());
    }

    #[test]
    fn monotone_and_smooth_across_cells() {
        let t = PowerTable::new(6.25, 0.01, 1.0);
        let mut prev = 0.0;
        let n = 100_000;
        for i in 0..=n {
            let x = 0.01 + (0.999 - 0.01) * i as f64 / n as f64;
            let v = t.pow(x);
            assert!(v > prev, "not increasing at {x}");
            prev = v;
        }
        // Continuity at a knot: the cell below ends where the next begins.
        let j = t.first + 300;
        let knot = f64::from_bits(j << SHIFT);
        let below = f64::from_bits(knot.to_bits() - 1);
        assert!((t.pow(below) - t.pow(knot)).abs() < 1e-14 * t.pow(knot));
    }

    #[test]
    fn bad_ranges_give_the_exact_power() {
        let t = PowerTable::new(2.0, -1.0, 0.5);
        assert_eq!(t.pow(0.3), 0.3f64.powf(2.0));
        let t = PowerTable::new(2.0, 0.5, 0.1);
        assert_eq!(t.pow(0.3), 0.3f64.powf(2.0));
    }
}
