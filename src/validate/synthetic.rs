//! Synthetic boreholes sampled from a "true" product (for the demo and tests).
//!
//! Sites are distinct land cells (cells with a class in some year of the
//! first member) drawn without replacement with a seeded generator; each site
//! lies at a uniformly random point inside its cell, so nearest-cell matching
//! finds the sampled cell again. For every simulated year with a value, the
//! site gets an ALT, a TTOP and a GT10m observation: the true value plus
//! Gaussian noise with the given standard deviation (ALT is kept >= 0). The
//! noise standard deviation is recorded as the observation's uncertainty.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::obs::{ObsVariable, Observation};
use crate::io::netcdf_out::{AnnualMapStack, CLASS_FILL};
use crate::{Error, Result};

/// Standard deviations of the observation noise.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyntheticNoise {
    /// Active-layer thickness noise (m).
    pub alt: f64,
    /// TTOP noise (K).
    pub ttop: f64,
    /// GT10m noise (K).
    pub gt10m: f64,
}

impl Default for SyntheticNoise {
    /// Roughly the spread of repeated probing and borehole logging:
    /// 0.1 m for ALT, 0.2 K for TTOP and GT10m.
    fn default() -> Self {
        Self {
            alt: 0.1,
            ttop: 0.2,
            gt10m: 0.2,
        }
    }
}

/// Sample `n_sites` synthetic boreholes from member 0 of `truth` (see the
/// module docs). The same inputs and `seed` give the same observations.
/// `line` numbers are those of a file written by
/// [`super::obs::write_observations`].
pub fn synthetic_boreholes(
    truth: &AnnualMapStack,
    n_sites: usize,
    noise: &SyntheticNoise,
    seed: u64,
) -> Result<Vec<Observation>> {
    for (name, sd) in [
        ("alt", noise.alt),
        ("ttop", noise.ttop),
        ("gt10m", noise.gt10m),
    ] {
        if !(sd.is_finite() && sd >= 0.0) {
            return Err(Error::Other(format!(
                "synthetic boreholes: noise `{name}` = {sd} must be a non-negative number"
            )));
        }
    }
    let g = &truth.grid;
    let n = g.len();
    let nt = truth.years.len();
    let land: Vec<usize> = (0..n)
        .filter(|&k| (0..nt).any(|t| truth.class[t * n + k] != CLASS_FILL))
        .collect();
    if land.len() < n_sites {
        return Err(Error::Other(format!(
            "synthetic boreholes: {n_sites} sites requested but the product has {} land cells",
            land.len()
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    // Partial Fisher-Yates shuffle: the first n_sites entries are the sample.
    let mut cells = land;
    for i in 0..n_sites {
        let j = rng.random_range(i..cells.len());
        cells.swap(i, j);
    }
    cells.truncate(n_sites);
    let normal = |sd: f64| Normal::new(0.0, sd).map_err(|e| Error::Other(e.to_string()));
    let dists = [
        (ObsVariable::Alt, normal(noise.alt)?, noise.alt, &truth.alt),
        (
            ObsVariable::Ttop,
            normal(noise.ttop)?,
            noise.ttop,
            &truth.ttop,
        ),
        (
            ObsVariable::Gt10m,
            normal(noise.gt10m)?,
            noise.gt10m,
            &truth.gt10m,
        ),
    ];
    let t = &g.transform;
    let mut out = Vec::new();
    for (s, &k) in cells.iter().enumerate() {
        let (row, col) = (k / g.cols, k % g.cols);
        let lon = t.x_origin + (col as f64 + rng.random::<f64>()) * t.dx;
        let lat = t.y_origin - (row as f64 + rng.random::<f64>()) * t.dy;
        let site_id = format!("SYN{:03}", s + 1);
        for (ti, &year) in truth.years.iter().enumerate() {
            for (variable, dist, sd, field) in &dists {
                let v = field[ti * n + k] as f64;
                // Draw even for missing values so each value's noise does not
                // depend on which other values exist.
                let e = dist.sample(&mut rng);
                if !v.is_finite() {
                    continue;
                }
                let mut value = v + e;
                if *variable == ObsVariable::Alt {
                    value = value.max(0.0);
                }
                out.push(Observation {
                    line: out.len() + 2,
                    site_id: site_id.clone(),
                    name: format!("synthetic site {} (row {row}, col {col})", s + 1),
                    lat,
                    lon,
                    elevation: None,
                    variable: *variable,
                    depth: None,
                    start: year,
                    end: year,
                    value,
                    uncertainty: Some(*sd),
                });
            }
        }
    }
    Ok(out)
}

/// Read the true product at `truth`, sample [`synthetic_boreholes`] from
/// it and write them to the observation CSV `out` (atomically); returns the
/// observations.
pub fn write_synthetic_boreholes(
    truth: &std::path::Path,
    out: &std::path::Path,
    n_sites: usize,
    noise: &SyntheticNoise,
    seed: u64,
) -> Result<Vec<Observation>> {
    let stack = crate::io::netcdf_out::read_annual_netcdf(truth)?;
    let obs = synthetic_boreholes(&stack, n_sites, noise, seed)
        .map_err(|e| Error::Other(format!("{}: {e}", truth.display())))?;
    super::obs::write_observations(out, &obs)?;
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::geotiff::RasterGrid;

    fn truth() -> AnnualMapStack {
        let grid = RasterGrid::geographic(4, 3, 90.0, 36.0, 0.5, 0.5);
        let mut s = AnnualMapStack::new(grid, vec![2001, 2002], Vec::new());
        for t in 0..2 {
            for r in 0..3 {
                for c in 0..4 {
                    if (r, c) == (0, 0) {
                        continue; // masked
                    }
                    let k = s.index(0, t, r, c);
                    s.class[k] = 1;
                    s.alt[k] = 1.0 + r as f32;
                    s.ttop[k] = -1.0 - c as f32;
                    s.gt10m[k] = -0.5;
                }
            }
        }
        s
    }

    #[test]
    fn seeded_sites_on_land_with_noise() {
        let s = truth();
        let a = synthetic_boreholes(&s, 5, &SyntheticNoise::default(), 7).unwrap();
        let b = synthetic_boreholes(&s, 5, &SyntheticNoise::default(), 7).unwrap();
        let c = synthetic_boreholes(&s, 5, &SyntheticNoise::default(), 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 5 * 2 * 3);
        for o in &a {
            let (r, col) = s.grid.cell_at(o.lon, o.lat).unwrap();
            assert_ne!((r, col), (0, 0), "site on the masked cell");
        }
        // Without noise the truth comes back exactly.
        let zero = SyntheticNoise {
            alt: 0.0,
            ttop: 0.0,
            gt10m: 0.0,
        };
        let e = synthetic_boreholes(&s, 11, &zero, 1).unwrap();
        for o in &e {
            let (r, c) = s.grid.cell_at(o.lon, o.lat).unwrap();
            let t = (o.start - 2001) as usize;
            let k = s.index(0, t, r, c);
            let v = match o.variable {
                ObsVariable::Alt => s.alt[k],
                ObsVariable::Ttop => s.ttop[k],
                _ => s.gt10m[k],
            };
            assert_eq!(o.value, v as f64);
        }
        // 11 land cells: all used, each once.
        let mut sites: Vec<_> = e.iter().map(|o| o.site_id.clone()).collect();
        sites.dedup();
        assert_eq!(sites.len(), 11);
        assert!(synthetic_boreholes(&s, 12, &zero, 1).is_err());
    }
}
