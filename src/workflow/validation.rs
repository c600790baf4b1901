//! Validation at the end of a gridded run (the `[validation]` table of a
//! calibration or hindcast experiment, [`crate::config::validation`]).
//!
//! Recipe of [`validate_run`]:
//! 1. the observations: the table's CSV, or synthetic boreholes
//!    ([`synthetic_observations`]): distinct land cells drawn with a seeded
//!    generator, the hidden truth run on those cells only, its annual ALT,
//!    TTOP and GT10m plus seeded Gaussian noise
//!    ([`crate::validate::synthetic_boreholes`]), each site at the elevation
//!    of its cell, kept inside the validation years and written to
//!    `<validation>/synthetic_boreholes.csv` in the documented observation
//!    format (and read back from it, so every report line refers to that file);
//! 2. the product (a hindcast's `hindcast.nc` with every member and the
//!    ensemble mean, or a calibration's best-set product) matched, scored and
//!    reported by [`crate::validate::validate_stack`]: `pairs.csv`,
//!    `unmatched.csv`, `trends.csv`, `summary.csv`, `summary.md`,
//!    `summary.json` and the scatter plots, in the validation folder; sites in
//!    the sensitive region (the table's, else the calibration's own) are
//!    flagged as not independent;
//! 3. a short summary ([`ValidationBrief`]): RMSE of ALT, TTOP and GT10m per
//!    member slot over all sites and over the independent sites.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::domain::{CellStats, DomainSetup, Overrides};
use crate::config::validation::{ObservationSource, ValidationSettings, SYNTHETIC_OBSERVATIONS};
use crate::diagnostics::annual::try_annual_diagnostics;
use crate::domain::runner::CellOutcome;
use crate::io::geotiff::RasterGrid;
use crate::io::netcdf_out::{read_annual_netcdf, write_annual_netcdf, AnnualMapStack, NetcdfMeta};
use crate::validate::obs::{read_observations, write_observations, ObsVariable, Observation};
use crate::validate::run::{match_options, validate_stack, ValidationReport};
use crate::validate::scores::SiteSubset;
use crate::validate::synthetic::{synthetic_boreholes, SyntheticNoise};
use crate::{Error, Result};

/// What the run around a `[validation]` table provides.
pub struct RunContext<'a> {
    /// The domain the product was made on.
    pub setup: &'a DomainSetup,
    /// The checked `[validation]` table.
    pub settings: &'a ValidationSettings,
    /// The experiment's output folder (the validation folder defaults to
    /// `<output>/validation`).
    pub output: &'a Path,
    /// The experiment seed (default seed of the synthetic sampling).
    pub seed: u64,
    /// The sensitive region used when the table names none (a calibration's
    /// `region.tif`).
    pub sensitive: Option<PathBuf>,
    /// The hidden truth used when the table names no truth file (a
    /// calibration's `truth` perturbation), as model overrides.
    pub truth: Option<Overrides>,
    /// Hide messages.
    pub quiet: bool,
}

/// RMSE of one member slot (m for ALT, degC for TTOP and GT10m); `None`
/// where the slot has no pair of that variable.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemberRmse {
    /// Member name, `ensemble-mean`, or `run` for a single product.
    pub member: String,
    /// ALT over all sites (m).
    pub alt_m: Option<f64>,
    /// TTOP over all sites (degC).
    pub ttop_c: Option<f64>,
    /// GT10m over all sites (degC).
    pub gt10m_c: Option<f64>,
    /// ALT over the independent sites (m).
    pub alt_m_independent: Option<f64>,
    /// TTOP over the independent sites (degC).
    pub ttop_c_independent: Option<f64>,
    /// GT10m over the independent sites (degC).
    pub gt10m_c_independent: Option<f64>,
}

/// The short result of a validation run (also in the run's `summary.json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValidationBrief {
    /// The validation folder.
    pub output: PathBuf,
    /// The observation file validated against.
    pub observations: PathBuf,
    /// Observations read.
    pub n_observations: usize,
    /// Matched (observation, member slot) pairs.
    pub n_pairs: usize,
    /// Unmatched rows (see `unmatched.csv`).
    pub n_unmatched: usize,
    /// Sites with at least one matched pair.
    pub sites: usize,
    /// Of those, sites outside the sensitive region.
    pub independent_sites: usize,
    /// RMSE per member slot, members first, then the ensemble mean.
    pub rmse: Vec<MemberRmse>,
    /// Wall time of the validation (synthetic sites included), seconds.
    pub seconds: f64,
}

impl ValidationBrief {
    /// Summarise a validation report.
    pub fn from_report(report: &ValidationReport, output: &Path, observations: &Path) -> Self {
        let pairs = &report.matched.pairs;
        let mut sites: Vec<(&str, bool)> = pairs
            .iter()
            .map(|p| (p.site_id.as_str(), p.independent))
            .collect();
        sites.sort();
        sites.dedup();
        let rmse_of = |v: ObsVariable, member: &str, subset: SiteSubset| {
            report
                .scores
                .iter()
                .find(|s| s.variable == v && s.member == member && s.subset == subset)
                .and_then(|s| s.scores.as_ref())
                .filter(|p| p.n > 0)
                .map(|p| p.rmse)
        };
        let rmse = report
            .matched
            .members
            .iter()
            .map(|m| MemberRmse {
                member: m.clone(),
                alt_m: rmse_of(ObsVariable::Alt, m, SiteSubset::All),
                ttop_c: rmse_of(ObsVariable::Ttop, m, SiteSubset::All),
                gt10m_c: rmse_of(ObsVariable::Gt10m, m, SiteSubset::All),
                alt_m_independent: rmse_of(ObsVariable::Alt, m, SiteSubset::Independent),
                ttop_c_independent: rmse_of(ObsVariable::Ttop, m, SiteSubset::Independent),
                gt10m_c_independent: rmse_of(ObsVariable::Gt10m, m, SiteSubset::Independent),
            })
            .collect();
        Self {
            output: output.to_path_buf(),
            observations: observations.to_path_buf(),
            n_observations: report.n_observations,
            n_pairs: pairs.len(),
            n_unmatched: report.matched.unmatched.len(),
            sites: sites.len(),
            independent_sites: sites.iter().filter(|(_, i)| *i).count(),
            rmse,
            seconds: 0.0,
        }
    }

    /// A short text table: RMSE of ALT, TTOP and GT10m per member slot, all
    /// sites and (after the slash) independent sites.
    pub fn rmse_table(&self) -> String {
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| format!("{x:.3}"));
        let cell = |a: Option<f64>, b: Option<f64>| format!("{} / {}", f(a), f(b));
        let w = self
            .rmse
            .iter()
            .map(|r| r.member.len())
            .max()
            .unwrap_or(0)
            .max(6);
        let mut s = format!(
            "validation: {} observations at {} sites ({} independent of the calibration), \
             {} pairs; RMSE all sites / independent sites\n",
            self.n_observations, self.sites, self.independent_sites, self.n_pairs
        );
        s.push_str(&format!(
            "{:<w$}  {:>15}  {:>15}  {:>15}\n",
            "member", "ALT (m)", "TTOP (C)", "GT10m (C)"
        ));
        for r in &self.rmse {
            s.push_str(&format!(
                "{:<w$}  {:>15}  {:>15}  {:>15}\n",
                r.member,
                cell(r.alt_m, r.alt_m_independent),
                cell(r.ttop_c, r.ttop_c_independent),
                cell(r.gt10m_c, r.gt10m_c_independent),
            ));
        }
        s.push_str(&format!(
            "report: {} ({:.1} s)\n",
            self.output.display(),
            self.seconds
        ));
        s
    }
}

/// The annual maps of domain runs: one member per `(name, outcomes)`, each
/// outcome list aligned with `cells`. Failed cells stay nodata.
pub fn annual_stack(
    setup: &DomainSetup,
    cells: &[(usize, usize)],
    members: &[(String, &[CellOutcome<CellStats>])],
) -> Result<AnnualMapStack> {
    let grid = RasterGrid::from_grid(setup.grid())?;
    let years = setup.years();
    let names = members.iter().map(|(n, _)| n.clone()).collect();
    let mut stack = AnnualMapStack::new(grid, years.clone(), names);
    for (m, (name, outcomes)) in members.iter().enumerate() {
        if outcomes.len() != cells.len() {
            return Err(Error::Other(format!(
                "member {name}: {} outcomes for {} cells",
                outcomes.len(),
                cells.len()
            )));
        }
        for (o, &(r, c)) in outcomes.iter().zip(cells) {
            let Ok(stats) = &o.result else { continue };
            for (i, s) in stats.iter().enumerate() {
                if !years.contains(&s.year) {
                    continue;
                }
                let prev = if i > 0 { stats.get(i - 1) } else { None };
                if let Ok(d) = try_annual_diagnostics(s, prev, None) {
                    stack.set(m, r, c, &d)?;
                }
            }
        }
    }
    Ok(stack)
}

/// Write the annual maps of one or more members as a CF-netCDF product
/// ([`write_annual_netcdf`]) that `calimap validate` reads.
pub fn write_stack(path: &Path, stack: &AnnualMapStack, title: &str) -> Result<()> {
    let meta = NetcdfMeta {
        title: title.to_string(),
        history: format!("calimap {}", env!("CARGO_PKG_VERSION")),
        comment: None,
    };
    write_annual_netcdf(path, stack, &meta)
}

/// `n` distinct cells of `cells` drawn with a generator seeded by `seed`
/// (all of them, shuffled, when there are fewer).
pub fn sample_cells(cells: &[(usize, usize)], n: usize, seed: u64) -> Vec<(usize, usize)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut v = cells.to_vec();
    let n = n.min(v.len());
    for i in 0..n {
        let j = rng.random_range(i..v.len());
        v.swap(i, j);
    }
    v.truncate(n);
    v
}

/// Synthetic boreholes of the domain: `sites` land cells drawn with `seed`,
/// the `truth` overrides run on those cells, and the annual ALT, TTOP and
/// GT10m at each site plus `noise` (see the module docs); site elevations
/// are those of their cells; only observations inside `years` are kept.
/// Lines are numbered as in the file [`write_observations`] writes.
pub fn synthetic_observations(
    setup: &DomainSetup,
    truth: &Overrides,
    sites: usize,
    noise: &SyntheticNoise,
    seed: u64,
    years: Option<(i32, i32)>,
    quiet: bool,
) -> Result<Vec<Observation>> {
    let cells = sample_cells(setup.cells(), sites, seed);
    if cells.is_empty() {
        return Err(Error::Other(
            "synthetic boreholes: the domain has no land cell".into(),
        ));
    }
    let pb = super::calibration::cell_bar(cells.len(), "synthetic sites", quiet);
    let bar = pb.clone();
    let progress = move |done: usize, _total: usize| bar.set_position(done as u64);
    let runs = setup.run(&cells, std::slice::from_ref(truth), Some(&progress))?;
    pb.finish();
    if let Some(e) = runs[0].iter().find_map(|o| o.result.as_ref().err()) {
        return Err(Error::Other(format!(
            "synthetic boreholes: the hidden truth fails on a site cell: {e}"
        )));
    }
    let stack = annual_stack(setup, &cells, &[("truth".to_string(), &runs[0])])?;
    let mut obs = synthetic_boreholes(&stack, cells.len(), noise, seed)?;
    let nx = setup.grid().nx;
    let elevation = &setup.maps.elevation;
    for o in &mut obs {
        if let Some((r, c)) = stack.grid.cell_at(o.lon, o.lat) {
            o.elevation = elevation.get(r * nx + c).copied().filter(|z| z.is_finite());
        }
    }
    if let Some((a, b)) = years {
        obs.retain(|o| o.start >= a && o.end <= b);
    }
    for (i, o) in obs.iter_mut().enumerate() {
        o.line = i + 2;
    }
    Ok(obs)
}

/// Validate the annual product `product` (netCDF) as the `[validation]`
/// table of `ctx` says (see the module docs); returns the full report and
/// its short summary.
pub fn validate_run(
    ctx: &RunContext,
    product: &Path,
) -> Result<(ValidationReport, ValidationBrief)> {
    let t0 = std::time::Instant::now();
    let s = ctx.settings;
    let out_dir = s.out_dir(ctx.output);
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;

    // 1. observations
    let obs_path = match &s.source {
        ObservationSource::File(p) => p.clone(),
        ObservationSource::Synthetic(syn) => {
            let truth =
                match (&syn.truth, &ctx.truth) {
                    // Keys of classes the domain lacks are harmless here; a
                    // key the model does not know fails the truth run by name.
                    (Some(file), _) => super::hindcast::read_parameter_set(file)?.1,
                    (None, Some(ov)) => ov.clone(),
                    (None, None) => return Err(Error::Other(
                        "synthetic boreholes need the hidden truth: name a `truth` parameter-set \
                         file in [validation]"
                            .into(),
                    )),
                };
            let obs = synthetic_observations(
                ctx.setup,
                &truth,
                syn.sites,
                &syn.noise,
                syn.seed.unwrap_or(ctx.seed),
                s.years,
                ctx.quiet,
            )?;
            let p = out_dir.join(SYNTHETIC_OBSERVATIONS);
            write_observations(&p, &obs)?;
            p
        }
    };

    // 2. match, score, report
    let product = s.product.clone().unwrap_or_else(|| product.to_path_buf());
    let cfg = s.config(
        product.clone(),
        obs_path.clone(),
        out_dir.clone(),
        ctx.sensitive.clone(),
    );
    let stack = read_annual_netcdf(&product)?;
    let observations = read_observations(&obs_path)?;
    let opts = match_options(&cfg, &stack.grid)?;
    let report = validate_stack(&stack, &observations, &opts, &cfg)?;

    // 3. summary
    let mut brief = ValidationBrief::from_report(&report, &out_dir, &obs_path);
    brief.seconds = t0.elapsed().as_secs_f64();
    Ok((report, brief))
}

/// The validation at the end of a calibration: every member of the top-K
/// ensemble and the ensemble mean (`<out>/ensemble/hindcast.nc`) when the
/// ensemble ran, else the best set, whose annual maps (`best_outcomes` on
/// `land`) are written to `<out>/best_annual.nc` first. Sites in the
/// calibration's region (`<out>/region.tif`) are not independent; the hidden
/// truth of synthetic boreholes defaults to the calibration's `truth`. The
/// RMSE table is printed unless `quiet`.
#[allow(clippy::too_many_arguments)]
pub fn validate_calibration(
    exp: &crate::config::Experiment,
    c: &crate::config::calibration::CalibrationExperiment,
    settings: &ValidationSettings,
    setup: &DomainSetup,
    registry: &crate::calibrate::registry::Registry,
    out: &Path,
    land: &[(usize, usize)],
    best_outcomes: &[CellOutcome<CellStats>],
    quiet: bool,
) -> Result<ValidationBrief> {
    let product = if c.ensemble.enabled {
        out.join("ensemble").join("hindcast.nc")
    } else {
        let p = out.join("best_annual.nc");
        let stack = annual_stack(setup, land, &[("best".to_string(), best_outcomes)])?;
        write_stack(
            &p,
            &stack,
            &format!(
                "calimap {}: annual maps of the best parameter set",
                exp.name
            ),
        )?;
        p
    };
    let truth = match &c.section.truth {
        Some(t) => {
            let (set, indices) = super::demo_truth::truth_set(registry, t)?;
            Some(super::calibration::flat_overrides(registry, &set, &indices))
        }
        None => None,
    };
    let ctx = RunContext {
        setup,
        settings,
        output: out,
        seed: exp.seed,
        sensitive: Some(out.join("region.tif")),
        truth,
        quiet,
    };
    let (_, brief) = validate_run(&ctx, &product)?;
    if !quiet {
        eprint!("{}", brief.rmse_table());
    }
    Ok(brief)
}

/// The validation at the end of a hindcast: `hindcast.nc` in `out` (every
/// member and the ensemble mean), without a sensitive region unless the
/// table names one. The RMSE table is printed unless `quiet`.
pub fn validate_hindcast(
    exp: &crate::config::Experiment,
    settings: &ValidationSettings,
    setup: &DomainSetup,
    out: &Path,
    quiet: bool,
) -> Result<ValidationBrief> {
    let ctx = RunContext {
        setup,
        settings,
        output: out,
        seed: exp.seed,
        sensitive: None,
        truth: None,
        quiet,
    };
    let (_, brief) = validate_run(&ctx, &out.join("hindcast.nc"))?;
    if !quiet {
        eprint!("{}", brief.rmse_table());
    }
    Ok(brief)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampled_cells_are_distinct_seeded_and_bounded() {
        let cells: Vec<(usize, usize)> = (0..6).flat_map(|r| (0..5).map(move |c| (r, c))).collect();
        let a = sample_cells(&cells, 10, 3);
        assert_eq!(a, sample_cells(&cells, 10, 3));
        assert_ne!(a, sample_cells(&cells, 10, 4));
        let mut d = a.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 10);
        assert!(a.iter().all(|c| cells.contains(c)));
        let all = sample_cells(&cells, 99, 3);
        assert_eq!(all.len(), cells.len());
    }
}
