//! The demo reference map: the domain run with hidden "true" parameters.
//!
//! The truth is a seeded perturbation of the registry defaults: every
//! expanded value of the chosen registry entries (default: all but `tbot`,
//! which the domain sets per cell from the mean air temperature) moves in
//! its search coordinates (linear, or logarithmic for log parameters) by a
//! uniform draw in `[-spread, +spread]` of its range, clamped to the bounds.
//! Draws are repeated (same stream) until the set satisfies the registry's
//! ordering constraints. The target year's class map is written as the
//! reference GeoTIFF and the hidden set as `truth.toml` next to it (both in
//! the git-ignored demo data folder).

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::calibration::{cell_bar, classify, flat_overrides, write_parameter_set, CLASS_NODATA};
use super::domain::DomainSetup;
use crate::calibrate::registry::{check_set, ParamSet, ParamSpace, Registry};
use crate::config::calibration::TruthSection;
use crate::io::geotiff::{write_geotiff, Raster, RasterGrid};
use crate::{Error, Result};

/// The hidden parameter set and the expanded registry positions it changes.
pub fn truth_set(reg: &Registry, t: &TruthSection) -> Result<(ParamSet, Vec<usize>)> {
    let names: Vec<String> = match &t.parameters {
        Some(n) => n.clone(),
        None => reg
            .params
            .iter()
            .map(|p| p.name.clone())
            .filter(|n| n != "tbot")
            .collect(),
    };
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let space = ParamSpace::select(reg.clone(), &refs)?;
    let u0 = space.to_unit(&space.base)?;
    let mut rng = StdRng::seed_from_u64(t.seed);
    for _ in 0..1000 {
        let u: Vec<f64> = u0
            .iter()
            .map(|&x| (x + t.spread * (2.0 * rng.random::<f64>() - 1.0)).clamp(0.0, 1.0))
            .collect();
        let set = space.to_physical(&u)?;
        if check_set(reg, &set).is_ok() {
            return Ok((set, space.dims.iter().map(|d| d.index).collect()));
        }
    }
    Err(Error::Other(format!(
        "no perturbation of spread {} met the registry constraints in 1000 draws",
        t.spread
    )))
}

/// Run the domain with the hidden set and write the reference class map of
/// `year` to `path` and the hidden overrides to `truth.toml` beside it.
pub fn make_reference(
    setup: &DomainSetup,
    reg: &Registry,
    t: &TruthSection,
    year: i32,
    path: &Path,
    quiet: bool,
) -> Result<()> {
    let (set, indices) = truth_set(reg, t)?;
    let overrides = flat_overrides(reg, &set, &indices);
    let cells = setup.cells().to_vec();
    let pb = cell_bar(cells.len(), "hidden truth", quiet);
    let bar = pb.clone();
    let progress = move |done: usize, _total: usize| bar.set_position(done as u64);
    let runs = setup.run(&cells, &[overrides.clone()], Some(&progress))?;
    pb.finish();
    let grid = RasterGrid::from_grid(setup.grid())?;
    let nx = setup.grid().nx;
    let mut data = vec![CLASS_NODATA; grid.len()];
    let mut first_error = None;
    let mut failed = 0;
    for (o, &(r, c)) in runs[0].iter().zip(&cells) {
        match &o.result {
            Ok(s) => match classify(s, year) {
                Some((code, _)) => data[r * nx + c] = code,
                None => {
                    return Err(Error::Other(format!(
                        "the hidden-truth run has no year {year}"
                    )))
                }
            },
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| e.clone());
            }
        }
    }
    if let Some(e) = first_error {
        return Err(Error::Other(format!(
            "the hidden parameters fail on {failed} of {} cells (first: {e}); choose another truth seed or spread",
            cells.len()
        )));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_parameter_set(&dir.join("truth.toml"), "truth", &reg.model, &overrides)?;
    write_geotiff(path, &Raster::new(grid, data, Some(CLASS_NODATA))?)?;
    if !quiet {
        eprintln!(
            "wrote the reference {} from {} hidden parameter values (seed {}, spread {})",
            path.display(),
            overrides.len(),
            t.seed,
            t.spread
        );
    }
    Ok(())
}
