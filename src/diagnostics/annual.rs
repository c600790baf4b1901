//! Annual diagnostics from annual profile statistics.
//!
//! Definitions (one place for the whole project):
//!
//! - **Interpolation**: values are known at layer midpoints `z_i` (m, positive
//!   down, strictly increasing) and interpolated linearly in depth between
//!   them. Above the first midpoint the first layer's value holds (the top
//!   layer represents the ground down from the surface); below the last
//!   midpoint nothing is extrapolated.
//! - **Thawed / frozen**: a layer is *thawed* in a year if its annual maximum
//!   `t_max > 0 C` and *frozen* if `t_max <= 0 C`.
//! - **ALT** (active-layer thickness, m): the deepest 0 C crossing of the
//!   annual maximum profile with thawed ground above and frozen ground below,
//!   located by linear interpolation between the two midpoints. This follows
//!   the thaw-depth definition of the CALM programme (Brown et al. 2000,
//!   Polar Geogr. 24:166-258) and the published Noah-Tibet hindcasts.
//!   Edge cases:
//!   * *no thaw at all* (the top midpoint is frozen and there is no
//!     thawed-over-frozen crossing): ALT = 0 m; any thaw is shallower than the
//!     first midpoint and the model does not resolve it;
//!   * *no frozen layer* (every midpoint thaws): no ALT (`None`);
//!   * *talik* (a thawed layer between frozen layers): the deepest
//!     thawed-over-frozen crossing wins, so a frozen lens above a talik does
//!     not hide the permafrost table below it;
//!   * *permafrost base* (frozen above, thawed below) is not a crossing of the
//!     active layer and is ignored.
//! - **TTOP** (C): the annual mean temperature interpolated at the ALT depth.
//! - **GT10m** (C): the annual mean interpolated at 10 m; NaN when the
//!   column's last midpoint is shallower than 10 m.
//! - **MAGT** (C): the annual mean at a requested depth, by default the lowest
//!   layer midpoint.
//! - **Class**: with the two-year maximum `m_i = max(t_max_i(current),
//!   t_max_i(preceding))` (the current year alone when there is no preceding
//!   year):
//!   1. *permafrost* if some layer has `m_i <= 0 C`: ground "at or below 0 C
//!      for at least two consecutive years" (IPA definition, van Everdingen
//!      1998);
//!   2. *seasonally frozen* otherwise, if some layer's current `t_min < 0 C`
//!      (strictly: a layer that only touches 0 C, e.g. held at the freezing
//!      point by latent heat, has not been shown to freeze);
//!   3. *non-frozen* otherwise.
//! - **Margin** (C): `min_i m_i`, continuous across the permafrost threshold
//!   (<= 0 exactly when the class is permafrost). Where both years carry the
//!   annual maximum thaw-equivalent temperature (`thaw_max`: enthalpy over the
//!   all-liquid heat capacity, negative while ice is left), the margin is
//!   taken from its two-year maximum instead. It has the same sign, but it
//!   keeps moving while a layer sits in the zero curtain (temperature a few
//!   thousandths below 0 C while its ice melts), where the temperature margin
//!   is flat.

use super::{AnnualDiagnostics, AnnualProfileStats, FrozenClass};
use crate::{Error, Result};

/// Depth (m) at which GT10m is reported.
pub const GT_DEPTH_M: f64 = 10.0;

/// True if every depth is larger than the one before (false with NaN).
fn strictly_increasing(d: &[f64]) -> bool {
    d.windows(2).all(|w| w[1] > w[0])
}

/// Linear interpolation of `values` given at layer midpoints `depths` (m,
/// strictly increasing) to depth `z` (m). Above the first midpoint the first
/// value is returned; `None` below the last midpoint, for a non-finite `z`,
/// for empty or unequal inputs, or for depths that do not increase.
pub fn interp_at(depths: &[f64], values: &[f64], z: f64) -> Option<f64> {
    if depths.is_empty() || depths.len() != values.len() || !z.is_finite() {
        return None;
    }
    if !strictly_increasing(depths) {
        return None;
    }
    if z <= depths[0] {
        return Some(values[0]);
    }
    let last = depths.len() - 1;
    if z > depths[last] {
        return None;
    }
    // First midpoint at or below z.
    let k = depths.partition_point(|&d| d < z);
    let (z0, z1) = (depths[k - 1], depths[k]);
    let (v0, v1) = (values[k - 1], values[k]);
    Some(v0 + (v1 - v0) * (z - z0) / (z1 - z0))
}

/// Active-layer thickness (m) from the annual maximum temperature profile
/// `t_max` (C) at layer midpoints `depths` (m); see the module documentation
/// for the definition and edge cases. `None` when no midpoint stays frozen
/// or the inputs are unusable (empty, unequal lengths, non-increasing depths).
pub fn alt_from_tmax(depths: &[f64], t_max: &[f64]) -> Option<f64> {
    if depths.is_empty() || depths.len() != t_max.len() {
        return None;
    }
    if !strictly_increasing(depths) {
        return None;
    }
    let thawed = |t: f64| t > 0.0;
    let frozen = |t: f64| t <= 0.0;
    for i in (0..depths.len() - 1).rev() {
        let (t0, t1) = (t_max[i], t_max[i + 1]);
        if thawed(t0) && frozen(t1) {
            // t0 > 0 >= t1, so t0 - t1 > 0.
            return Some(depths[i] + (depths[i + 1] - depths[i]) * t0 / (t0 - t1));
        }
    }
    if frozen(t_max[0]) {
        return Some(0.0);
    }
    None
}

/// Temperature at the top of permafrost (C): the annual mean `t_mean` (C)
/// interpolated at the active-layer thickness `alt` (m).
pub fn ttop(depths: &[f64], t_mean: &[f64], alt: f64) -> Option<f64> {
    interp_at(depths, t_mean, alt)
}

/// Annual mean ground temperature (C) of `stats` interpolated at depth `z` (m).
pub fn magt_at(stats: &AnnualProfileStats, z: f64) -> Option<f64> {
    interp_at(&stats.depths, &stats.t_mean, z)
}

/// Depth of zero annual amplitude (m): the shallowest depth at which the
/// annual range `t_max - t_min` has fallen to `threshold` (C; 0.1 C by the
/// usual convention, French 2007, The Periglacial Environment), by linear
/// interpolation of the range between layer midpoints. `None` when the range
/// stays above the threshold down to the last midpoint or the profile is unusable.
pub fn zero_amplitude_depth(stats: &AnnualProfileStats, threshold: f64) -> Option<f64> {
    let z = &stats.depths;
    if z.is_empty()
        || stats.t_max.len() != z.len()
        || stats.t_min.len() != z.len()
        || !strictly_increasing(z)
        || !threshold.is_finite()
    {
        return None;
    }
    let range: Vec<f64> = stats
        .t_max
        .iter()
        .zip(&stats.t_min)
        .map(|(a, b)| a - b)
        .collect();
    if range[0] <= threshold {
        return Some(z[0]);
    }
    for i in 1..z.len() {
        if range[i] <= threshold {
            let (a0, a1) = (range[i - 1], range[i]);
            return Some(z[i - 1] + (z[i] - z[i - 1]) * (a0 - threshold) / (a0 - a1));
        }
    }
    None
}

fn check_stats(s: &AnnualProfileStats, what: &str) -> Result<()> {
    let n = s.depths.len();
    if n == 0 {
        return Err(Error::Other(format!("{what} year {}: no layers", s.year)));
    }
    if s.t_mean.len() != n
        || s.t_max.len() != n
        || s.t_min.len() != n
        || !(s.thaw_max.is_empty() || s.thaw_max.len() == n)
    {
        return Err(Error::Other(format!(
            "{what} year {}: {} depths but {} means, {} maxima and {} minima",
            s.year,
            n,
            s.t_mean.len(),
            s.t_max.len(),
            s.t_min.len()
        )));
    }
    if !strictly_increasing(&s.depths) {
        return Err(Error::Other(format!(
            "{what} year {}: layer depths must increase strictly",
            s.year
        )));
    }
    Ok(())
}

/// Annual diagnostics with every input checked: errors when a profile is
/// empty or ragged, depths do not increase, or the preceding year has other
/// layers than the current one.
pub fn try_annual_diagnostics(
    cur: &AnnualProfileStats,
    prev: Option<&AnnualProfileStats>,
    magt_depth: Option<f64>,
) -> Result<AnnualDiagnostics> {
    check_stats(cur, "current")?;
    if let Some(p) = prev {
        check_stats(p, "preceding")?;
        if p.depths != cur.depths {
            return Err(Error::Other(format!(
                "preceding year {} has other layers than year {}",
                p.year, cur.year
            )));
        }
    }
    Ok(compute(cur, prev, magt_depth))
}

/// Annual diagnostics of year `cur` given the preceding year `prev` (for the
/// two-year permafrost rule); see the module documentation for definitions.
///
/// This never fails: a `prev` whose layers differ from `cur` is ignored (the
/// current year is then judged alone), and unusable profiles give NaN
/// temperatures, no ALT and the non-frozen class. Use
/// [`try_annual_diagnostics`] to have such inputs reported as errors.
pub fn annual_diagnostics(
    cur: &AnnualProfileStats,
    prev: Option<&AnnualProfileStats>,
) -> AnnualDiagnostics {
    let prev = prev.filter(|p| {
        p.depths == cur.depths
            && p.t_max.len() == cur.t_max.len()
            && p.t_min.len() == cur.t_min.len()
    });
    compute(cur, prev, None)
}

/// Per-layer maximum of the current year's `cur` and the preceding year's
/// `prev` values (the current year alone without a preceding one).
fn two_year_maxima(cur: &[f64], prev: Option<&[f64]>) -> Vec<f64> {
    cur.iter()
        .enumerate()
        .map(|(i, &c)| match prev.and_then(|p| p.get(i)) {
            Some(&p) => c.max(p),
            None => c,
        })
        .collect()
}

fn compute(
    cur: &AnnualProfileStats,
    prev: Option<&AnnualProfileStats>,
    magt_depth: Option<f64>,
) -> AnnualDiagnostics {
    let n = cur.t_max.len();
    let two_year_max = two_year_maxima(&cur.t_max, prev.map(|p| &p.t_max[..]));
    let thaw_tracked = cur.thaw_max.len() == n && prev.is_none_or(|p| p.thaw_max.len() == n);
    let margin_profile = if thaw_tracked {
        two_year_maxima(&cur.thaw_max, prev.map(|p| &p.thaw_max[..]))
    } else {
        two_year_max.clone()
    };
    let margin = margin_profile.into_iter().fold(f64::NAN, f64::min);
    let class = if two_year_max.iter().any(|&m| m <= 0.0) {
        FrozenClass::Permafrost
    } else if cur.t_min.iter().any(|&t| t < 0.0) {
        FrozenClass::SeasonallyFrozen
    } else {
        FrozenClass::NonFrozen
    };
    let alt = if class == FrozenClass::Permafrost {
        alt_from_tmax(&cur.depths, &cur.t_max)
    } else {
        None
    };
    let ttop = alt.and_then(|a| ttop(&cur.depths, &cur.t_mean, a));
    let gt10m = interp_at(&cur.depths, &cur.t_mean, GT_DEPTH_M).unwrap_or(f64::NAN);
    let magt = match magt_depth {
        Some(z) => interp_at(&cur.depths, &cur.t_mean, z),
        None => cur.t_mean.last().copied(),
    }
    .unwrap_or(f64::NAN);
    AnnualDiagnostics {
        year: cur.year,
        alt,
        ttop,
        gt10m,
        magt,
        class,
        margin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    const Z: [f64; 6] = [0.05, 0.5, 1.5, 3.0, 8.0, 12.0];

    fn stats(year: i32, t_mean: [f64; 6], t_max: [f64; 6], t_min: [f64; 6]) -> AnnualProfileStats {
        AnnualProfileStats {
            year,
            depths: Z.to_vec(),
            t_mean: t_mean.to_vec(),
            t_max: t_max.to_vec(),
            t_min: t_min.to_vec(),
            thaw_max: Vec::new(),
            seconds: 365.0 * 86400.0,
        }
    }

    #[test]
    fn thaw_equivalent_margin_moves_through_the_zero_curtain() {
        // The 3 m layer sits in the zero curtain in both years (t_max
        // -0.002 C) with ice left: -1.5 C of latent heat in 2010, -0.4 C
        // in 2011. The temperature margin cannot tell the years apart;
        // the thaw-equivalent margin can, with the same class.
        let mut prev = stats(
            2010,
            [0.0; 6],
            [8.0, 3.0, 1.0, -0.002, 0.1, 0.2],
            [-9.0, -5.0, -2.0, -1.0, -0.8, -0.6],
        );
        let mut cur = prev.clone();
        cur.year = 2011;
        prev.thaw_max = vec![8.0, 3.0, 1.0, -1.5, 0.1, 0.2];
        cur.thaw_max = vec![8.0, 3.0, 1.0, -0.4, 0.1, 0.2];
        let d = annual_diagnostics(&cur, Some(&prev));
        assert_eq!(d.class, FrozenClass::Permafrost);
        assert!(close(d.margin, -0.4));
        // Without thaw maxima in either year the temperature margin is used.
        let mut bare = prev.clone();
        bare.thaw_max.clear();
        let d = annual_diagnostics(&cur, Some(&bare));
        assert!(close(d.margin, -0.002));
        // Ragged thaw maxima are an error naming the year.
        cur.thaw_max.pop();
        let e = try_annual_diagnostics(&cur, None, None).unwrap_err();
        assert!(e.to_string().contains("2011"), "{e}");
    }

    #[test]
    fn interpolation_between_midpoints() {
        let v = [1.0, 2.0, 4.0, 7.0, 2.0, -2.0];
        assert!(close(interp_at(&Z, &v, 1.0).unwrap(), 3.0));
        assert!(close(interp_at(&Z, &v, 10.0).unwrap(), 0.0));
        assert!(close(interp_at(&Z, &v, 3.0).unwrap(), 7.0));
        assert!(close(interp_at(&Z, &v, 12.0).unwrap(), -2.0));
        // Above the first midpoint: the top layer's value.
        assert_eq!(interp_at(&Z, &v, 0.0), Some(1.0));
        assert_eq!(interp_at(&Z, &v, 12.5), None);
        assert_eq!(interp_at(&Z, &v, f64::NAN), None);
        assert_eq!(interp_at(&Z, &v[..5], 1.0), None);
        assert_eq!(interp_at(&[1.0, 1.0], &[0.0, 1.0], 1.0), None);
        assert_eq!(interp_at(&[], &[], 1.0), None);
    }

    #[test]
    fn alt_simple_permafrost_profile() {
        // Thawed at 0.5 m (+2 C), frozen at 1.5 m (-2 C): crossing at 1.0 m.
        let t_max = [10.0, 2.0, -2.0, -1.0, -0.5, -0.3];
        assert!(close(alt_from_tmax(&Z, &t_max).unwrap(), 1.0));
        // Crossing landing exactly on a midpoint at 0 C.
        let t_max = [10.0, 2.0, 0.0, -1.0, -0.5, -0.3];
        assert!(close(alt_from_tmax(&Z, &t_max).unwrap(), 1.5));
        // 3 C at 1.5 m, -1 C at 3 m: 1.5 + 1.5 * 3/4 = 2.625 m.
        let t_max = [10.0, 6.0, 3.0, -1.0, -0.5, -0.3];
        assert!(close(alt_from_tmax(&Z, &t_max).unwrap(), 2.625));
    }

    #[test]
    fn alt_edge_cases() {
        // No thaw at all.
        assert_eq!(alt_from_tmax(&Z, &[-1.0; 6]), Some(0.0));
        // No frozen layer.
        assert_eq!(alt_from_tmax(&Z, &[1.0; 6]), None);
        // Talik: frozen lens at 0.5 m, thawed at 1.5 m, permafrost from 3 m.
        // Deepest crossing between 1.5 m (+1) and 3 m (-2): 1.5 + 1.5/3 = 2.0 m.
        let t_max = [5.0, -0.5, 1.0, -2.0, -1.0, -1.0];
        assert!(close(alt_from_tmax(&Z, &t_max).unwrap(), 2.0));
        // Permafrost base: frozen from 1.5 m to 3 m, thawed below; crossing
        // between 0.5 m (+1) and 1.5 m (-1) at 1.0 m, the base is ignored.
        let t_max = [5.0, 1.0, -1.0, -0.2, 0.5, 1.0];
        assert!(close(alt_from_tmax(&Z, &t_max).unwrap(), 1.0));
        // Frozen at the top, thawed below only (no active layer above permafrost).
        let t_max = [-1.0, -0.5, 0.5, 1.0, 1.0, 1.0];
        assert_eq!(alt_from_tmax(&Z, &t_max), Some(0.0));
        assert_eq!(alt_from_tmax(&Z, &t_max[..3]), None);
    }

    #[test]
    fn permafrost_year_full_diagnostics() {
        let cur = stats(
            2010,
            [-1.0, -1.2, -1.6, -1.8, -1.9, -2.1],
            [12.0, 2.0, -2.0, -1.5, -1.8, -2.0],
            [-15.0, -8.0, -4.0, -2.2, -2.0, -2.2],
        );
        let d = annual_diagnostics(&cur, None);
        assert_eq!(d.year, 2010);
        assert_eq!(d.class, FrozenClass::Permafrost);
        assert!(close(d.alt.unwrap(), 1.0));
        // t_mean at 1.0 m between -1.2 (0.5 m) and -1.6 (1.5 m): -1.4.
        assert!(close(d.ttop.unwrap(), -1.4));
        // 10 m between 8 m (-1.9) and 12 m (-2.1): -2.0.
        assert!(close(d.gt10m, -2.0));
        assert!(close(d.magt, -2.1));
        assert!(close(d.margin, -2.0));
        let d2 = try_annual_diagnostics(&cur, None, Some(3.0)).unwrap();
        assert!(close(d2.magt, -1.8));
    }

    #[test]
    fn two_year_rule_and_class_thresholds() {
        let cur = stats(
            2011,
            [0.0; 6],
            [8.0, 3.0, 1.0, -0.5, -0.4, -0.3],
            [-9.0, -5.0, -2.0, -1.0, -0.8, -0.6],
        );
        // Preceding year thawed the 3 m and 8 m layers, not the 12 m layer.
        let prev = stats(
            2010,
            [0.0; 6],
            [8.0, 3.0, 1.0, 0.2, 0.1, -0.1],
            [-9.0, -5.0, -2.0, -1.0, -0.8, -0.6],
        );
        let d = annual_diagnostics(&cur, Some(&prev));
        assert_eq!(d.class, FrozenClass::Permafrost);
        assert!(close(d.margin, -0.1));
        // ALT comes from the current year: 1.5 + 1.5 * 1/1.5 = 2.5 m.
        assert!(close(d.alt.unwrap(), 2.5));
        // Preceding year thawed every layer: seasonally frozen, no ALT.
        let prev_warm = stats(2010, [0.0; 6], [8.0, 3.0, 1.0, 0.2, 0.1, 0.05], [-9.0; 6]);
        let d = annual_diagnostics(&cur, Some(&prev_warm));
        assert_eq!(d.class, FrozenClass::SeasonallyFrozen);
        assert_eq!(d.alt, None);
        assert_eq!(d.ttop, None);
        assert!(close(d.margin, 0.05));
        // A layer held exactly at 0 C for two years is permafrost (<= 0).
        let zero = stats(
            2011,
            [0.0; 6],
            [5.0, 1.0, 0.0, 0.5, 1.0, 1.0],
            [-3.0, -1.0, 0.0, 0.0, 0.0, 0.0],
        );
        assert_eq!(
            annual_diagnostics(&zero, Some(&zero)).class,
            FrozenClass::Permafrost
        );
        // A layer whose minimum only touches 0 C has not frozen (< 0).
        let touch = stats(2011, [5.0; 6], [9.0; 6], [0.0, 0.5, 1.0, 2.0, 3.0, 4.0]);
        let d = annual_diagnostics(&touch, None);
        assert_eq!(d.class, FrozenClass::NonFrozen);
        assert!(close(d.margin, 9.0));
        let cold = stats(2011, [5.0; 6], [9.0; 6], [-0.01, 0.5, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            annual_diagnostics(&cold, None).class,
            FrozenClass::SeasonallyFrozen
        );
    }

    #[test]
    fn zero_amplitude_depth_interpolates_the_annual_range() {
        // Ranges 20, 10, 4, 1, 0.05, 0.01 C at the midpoints: 0.1 C is crossed
        // between 3 m (1.0) and 8 m (0.05): 3 + 5 * 0.9 / 0.95.
        let s = stats(
            2000,
            [0.0; 6],
            [10.0, 5.0, 2.0, 0.5, 0.025, 0.005],
            [-10.0, -5.0, -2.0, -0.5, -0.025, -0.005],
        );
        let z = zero_amplitude_depth(&s, 0.1).unwrap();
        assert!(close(z, 3.0 + 5.0 * 0.9 / 0.95));
        assert_eq!(zero_amplitude_depth(&s, 25.0), Some(0.05));
        assert_eq!(zero_amplitude_depth(&s, 0.001), None);
    }

    #[test]
    fn shallow_column_and_bad_inputs() {
        let mut s = stats(2000, [1.0; 6], [2.0; 6], [-1.0; 6]);
        s.depths = vec![0.05, 0.5, 1.5, 3.0, 5.0, 8.0];
        let d = annual_diagnostics(&s, None);
        assert!(d.gt10m.is_nan());
        assert_eq!(d.class, FrozenClass::SeasonallyFrozen);
        // A preceding year with other layers is ignored by the lenient call
        // and reported by the checked one.
        let other = stats(1999, [-5.0; 6], [-5.0; 6], [-5.0; 6]);
        assert_eq!(
            annual_diagnostics(&s, Some(&other)).class,
            FrozenClass::SeasonallyFrozen
        );
        assert!(try_annual_diagnostics(&s, Some(&other), None).is_err());
        let mut ragged = s.clone();
        ragged.t_max.pop();
        let e = try_annual_diagnostics(&ragged, None, None).unwrap_err();
        assert!(e.to_string().contains("2000"), "{e}");
    }
}
