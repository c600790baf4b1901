//! The validation workflow: read a product and observations, match, score,
//! and write the report files.
//!
//! Files written into the output folder, each atomically:
//!
//! * `pairs.csv`: every matched pair (site, variable, depth, year or period,
//!   member, observed and simulated value, lapse correction, cell,
//!   independence flag, source line);
//! * `unmatched.csv`: every observation (or member comparison) not matched,
//!   with the reason;
//! * `trends.csv`: observed and simulated trends per decade of every site
//!   series with at least three years (OLS and Sen's slope);
//! * `summary.csv` and `summary.md`: per variable, member slot and site subset
//!   the point scores (n, RMSE, bias, MAE, r) and the trend scores;
//! * `summary.json`: the same scores with the counts of observations, pairs
//!   and unmatched rows, for programs;
//! * `scatter_<var>.png`: simulated against observed with the 1:1 line, for
//!   the ensemble mean (or the single member), all sites.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::matching::{
    match_observations, MatchMethod, MatchOptions, MatchResult, DEFAULT_LAPSE_RATE,
};
use super::obs::{read_observations, ObsVariable, Observation};
use super::scores::{score_pairs, SiteTrend, VariableScores};
use crate::io::geotiff::{read_geotiff_any, RasterGrid};
use crate::io::netcdf_out::{read_annual_netcdf, AnnualMapStack};
use crate::report::{fmt_num, scatter_one_to_one, Table};
use crate::{Error, Result};

/// Everything a validation run needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationConfig {
    /// The gridded annual product (netCDF written by
    /// [`crate::io::netcdf_out::write_annual_netcdf`]).
    pub product: PathBuf,
    /// The observation CSV ([`crate::validate::obs`]).
    pub observations: PathBuf,
    /// Output folder (created if missing).
    pub out_dir: PathBuf,
    /// Nearest cell or bilinear.
    pub method: MatchMethod,
    /// Elevation lapse rate (K/m), used with `elevation`.
    pub lapse_rate: f64,
    /// Cell elevation map (m a.s.l.) on the product grid: a GeoTIFF (`.tif`,
    /// `.tiff`) or a CF-netCDF variable (`.nc`); enables the lapse correction.
    pub elevation: Option<PathBuf>,
    /// Variable name of the elevation in a netCDF file.
    pub elevation_variable: String,
    /// The calibration's sensitive region on the product grid: a GeoTIFF
    /// mask (non-zero, non-nodata cells are sensitive) or a CSV cell list
    /// with columns `row,col` (0-based, row 0 north).
    pub sensitive: Option<PathBuf>,
    /// Depth (m) of the product's `magt` field, if known.
    pub magt_depth: Option<f64>,
    /// Largest difference (m) between an observed MAGT depth and a product depth.
    pub depth_tolerance: f64,
    /// Whether to draw the scatter plots.
    pub plots: bool,
    /// First and last year (inclusive) of the observations validated.
    #[serde(default)]
    pub years: Option<(i32, i32)>,
}

impl ValidationConfig {
    /// A configuration with the defaults: nearest cell, no lapse correction,
    /// no sensitive region, plots on.
    pub fn new(product: PathBuf, observations: PathBuf, out_dir: PathBuf) -> Self {
        Self {
            product,
            observations,
            out_dir,
            method: MatchMethod::Nearest,
            lapse_rate: DEFAULT_LAPSE_RATE,
            elevation: None,
            elevation_variable: "elevation".into(),
            sensitive: None,
            magt_depth: None,
            depth_tolerance: MatchOptions::default().depth_tolerance,
            plots: true,
            years: None,
        }
    }
}

/// What a validation run produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Number of observations read.
    pub n_observations: usize,
    /// Matched pairs, unmatched observations and member slots.
    pub matched: MatchResult,
    /// Scores per variable, member slot and site subset.
    pub scores: Vec<VariableScores>,
    /// Trends per site series.
    pub trends: Vec<SiteTrend>,
    /// Files written.
    pub files: Vec<PathBuf>,
}

impl ValidationReport {
    /// The scores of `variable` for `member` over all sites, if any.
    pub fn score(&self, variable: ObsVariable, member: &str) -> Option<&VariableScores> {
        self.scores.iter().find(|s| {
            s.variable == variable
                && s.member == member
                && s.subset == super::scores::SiteSubset::All
        })
    }
}

fn is_ext(p: &Path, exts: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// A per-cell raster on the product grid as f64 (nodata as NaN), from a
/// GeoTIFF or a netCDF variable; errors when the grids differ.
pub fn read_cell_map(path: &Path, nc_variable: &str, grid: &RasterGrid) -> Result<Vec<f64>> {
    let mismatch =
        |e: Error| Error::Grid(format!("{} against the product grid: {e}", path.display()));
    if is_ext(path, &["nc", "nc4"]) {
        let (g, values) = crate::forcing::cf_write::read_cf_raster(path, nc_variable)?;
        let product = grid.to_grid()?;
        product
            .check_same(&g, &format!("{} variable `{nc_variable}`", path.display()))
            .map_err(|e| Error::Grid(format!("{e} (the product grid)")))?;
        Ok(values)
    } else if is_ext(path, &["tif", "tiff"]) {
        let r = read_geotiff_any(path)?;
        grid.check_same(r.grid()).map_err(mismatch)?;
        Ok(r.to_f64_nan())
    } else {
        Err(Error::Unsupported(format!(
            "{}: cell maps are read from GeoTIFF (.tif) or netCDF (.nc) files",
            path.display()
        )))
    }
}

/// The sensitive region as a cell mask on the product grid: a GeoTIFF
/// (non-zero, non-nodata cells), a netCDF variable `sensitive`, or a CSV
/// list of `row,col` cells.
pub fn read_sensitive(path: &Path, grid: &RasterGrid) -> Result<Vec<bool>> {
    if !is_ext(path, &["csv"]) {
        let v = read_cell_map(path, "sensitive", grid)?;
        return Ok(v.iter().map(|x| x.is_finite() && *x != 0.0).collect());
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut mask = vec![false; grid.len()];
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| Error::parse(path, Some(1), format!("header: {e}")))?
        .clone();
    let col_of = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::parse(path, Some(1), format!("missing column `{name}`")))
    };
    let (ir, ic) = (col_of("row")?, col_of("col")?);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            Error::parse(path, e.position().map(|p| p.line() as usize), e.to_string())
        })?;
        let line = rec.position().map(|p| p.line() as usize);
        let get = |i: usize, name: &str| -> Result<usize> {
            let s = rec.get(i).unwrap_or("");
            s.parse().map_err(|_| {
                Error::parse(
                    path,
                    line,
                    format!("column `{name}`: `{s}` is not a cell index"),
                )
            })
        };
        let (r, c) = (get(ir, "row")?, get(ic, "col")?);
        if r >= grid.rows || c >= grid.cols {
            return Err(Error::parse(
                path,
                line,
                format!(
                    "cell (row {r}, col {c}) is outside the product grid ({} rows x {} cols)",
                    grid.rows, grid.cols
                ),
            ));
        }
        mask[r * grid.cols + c] = true;
    }
    Ok(mask)
}

/// Match options from a configuration, reading the elevation and sensitive
/// maps against the product grid.
pub fn match_options(cfg: &ValidationConfig, grid: &RasterGrid) -> Result<MatchOptions> {
    Ok(MatchOptions {
        method: cfg.method,
        lapse_rate: cfg.lapse_rate,
        elevation: cfg
            .elevation
            .as_deref()
            .map(|p| read_cell_map(p, &cfg.elevation_variable, grid))
            .transpose()?,
        sensitive: cfg
            .sensitive
            .as_deref()
            .map(|p| read_sensitive(p, grid))
            .transpose()?,
        magt_depth: cfg.magt_depth,
        depth_tolerance: cfg.depth_tolerance,
        years: cfg.years,
    })
}

/// Match, score and write the report for a product already in memory.
pub fn validate_stack(
    stack: &AnnualMapStack,
    observations: &[Observation],
    opts: &MatchOptions,
    cfg: &ValidationConfig,
) -> Result<ValidationReport> {
    let matched = match_observations(stack, observations, opts)?;
    let (scores, trends) = score_pairs(&matched)?;
    let mut report = ValidationReport {
        n_observations: observations.len(),
        matched,
        scores,
        trends,
        files: Vec::new(),
    };
    write_report(&mut report, observations, opts, cfg)?;
    Ok(report)
}

/// Run a validation: read the product and the observations, match, score
/// and write the report files into `cfg.out_dir`.
pub fn validate(cfg: &ValidationConfig) -> Result<ValidationReport> {
    let stack = read_annual_netcdf(&cfg.product)?;
    let observations = read_observations(&cfg.observations)?;
    let opts = match_options(cfg, &stack.grid)?;
    validate_stack(&stack, &observations, &opts, cfg)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

fn write_report(
    report: &mut ValidationReport,
    observations: &[Observation],
    opts: &MatchOptions,
    cfg: &ValidationConfig,
) -> Result<()> {
    let dir = &cfg.out_dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let m = &report.matched;

    let mut pairs = Table::new([
        "site_id",
        "name",
        "variable",
        "depth_m",
        "start",
        "end",
        "member",
        "obs",
        "sim",
        "sim_minus_obs",
        "lapse_correction_k",
        "row",
        "col",
        "independent",
        "line",
    ]);
    for p in &m.pairs {
        pairs.push([
            p.site_id.clone(),
            observations
                .get(p.obs_index)
                .map_or_else(String::new, |o| o.name.clone()),
            p.variable.name().to_string(),
            opt(p.depth),
            p.start.to_string(),
            p.end.to_string(),
            p.member.clone(),
            p.obs.to_string(),
            fmt_num(p.sim, 4),
            fmt_num(p.sim - p.obs, 4),
            p.lapse_correction
                .map_or_else(String::new, |c| fmt_num(c, 4)),
            p.row.to_string(),
            p.col.to_string(),
            p.independent.to_string(),
            p.line.to_string(),
        ])?;
    }
    let mut unmatched = Table::new([
        "site_id", "variable", "lat", "lon", "start", "end", "member", "line", "reason",
    ]);
    for u in &m.unmatched {
        unmatched.push([
            u.site_id.clone(),
            u.variable.name().to_string(),
            u.lat.to_string(),
            u.lon.to_string(),
            u.start.to_string(),
            u.end.to_string(),
            u.member.clone(),
            u.line.to_string(),
            u.reason.clone(),
        ])?;
    }
    let mut trends = Table::new([
        "site_id",
        "variable",
        "depth_m",
        "member",
        "n_years",
        "first_year",
        "last_year",
        "obs_ols_per_decade",
        "sim_ols_per_decade",
        "obs_sen_per_decade",
        "sim_sen_per_decade",
        "obs_mann_kendall_p",
        "sim_mann_kendall_p",
        "independent",
    ]);
    for t in &report.trends {
        trends.push([
            t.site_id.clone(),
            t.variable.name().to_string(),
            opt(t.depth),
            t.member.clone(),
            t.n_years.to_string(),
            t.first_year.to_string(),
            t.last_year.to_string(),
            fmt_num(t.obs_ols, 4),
            fmt_num(t.sim_ols, 4),
            fmt_num(t.obs_sen, 4),
            fmt_num(t.sim_sen, 4),
            t.obs_mk_p.map_or(String::new(), |p| fmt_num(p, 4)),
            t.sim_mk_p.map_or(String::new(), |p| fmt_num(p, 4)),
            t.independent.to_string(),
        ])?;
    }
    let mut summary = Table::new([
        "variable",
        "unit",
        "member",
        "sites",
        "n",
        "rmse",
        "bias",
        "mae",
        "r",
        "trend_sites",
        "trend_rmse_ols",
        "trend_bias_ols",
        "trend_rmse_sen",
        "trend_bias_sen",
        "trend_sign_agreement",
    ]);
    for s in &report.scores {
        let (n, rmse, bias, mae, r) = s
            .scores
            .as_ref()
            .map_or((0, f64::NAN, f64::NAN, f64::NAN, f64::NAN), |p| {
                (p.n, p.rmse, p.bias, p.mae, p.r)
            });
        let t = s.trend.as_ref();
        let tv = |f: fn(&super::scores::TrendScores) -> f64| t.map_or(f64::NAN, f);
        summary.push([
            s.variable.name().to_string(),
            s.variable.unit().to_string(),
            s.member.clone(),
            s.subset.name().to_string(),
            n.to_string(),
            fmt_num(rmse, 3),
            fmt_num(bias, 3),
            fmt_num(mae, 3),
            fmt_num(r, 3),
            t.map_or(0, |t| t.n_sites).to_string(),
            fmt_num(tv(|t| t.rmse_ols), 3),
            fmt_num(tv(|t| t.bias_ols), 3),
            fmt_num(tv(|t| t.rmse_sen), 3),
            fmt_num(tv(|t| t.bias_sen), 3),
            fmt_num(tv(|t| t.sign_agreement), 3),
        ])?;
    }

    let mut files = Vec::new();
    for (name, table) in [
        ("pairs.csv", &pairs),
        ("unmatched.csv", &unmatched),
        ("trends.csv", &trends),
        ("summary.csv", &summary),
    ] {
        let p = dir.join(name);
        table.write_csv(&p)?;
        files.push(p);
    }

    // Markdown summary with the run's settings and counts.
    let mut md = String::new();
    md.push_str("# Validation against borehole observations\n\n");
    md.push_str(&format!(
        "- product: `{}`\n- observations: `{}` ({} rows)\n- matching: {}\n",
        cfg.product.display(),
        cfg.observations.display(),
        report.n_observations,
        opts.method.name()
    ));
    match (&cfg.elevation, &opts.elevation) {
        (Some(p), Some(_)) => {
            md.push_str(&format!(
                "- lapse-rate correction of temperatures: {} K/km with cell elevations from `{}`\n",
                cfg.lapse_rate * 1000.0,
                p.display()
            ));
            let uncorrected = m
                .pairs
                .iter()
                .filter(|p| p.variable.is_temperature() && p.lapse_correction.is_none())
                .count();
            if uncorrected > 0 {
                md.push_str(&format!(
                    "- temperature pairs left uncorrected because the site has no elevation: \
                     {uncorrected}\n"
                ));
            }
        }
        _ => md.push_str("- lapse-rate correction: none\n"),
    }
    if let Some((a, b)) = cfg.years {
        md.push_str(&format!("- validation years: {a}-{b}\n"));
    }
    match &cfg.sensitive {
        Some(p) => md.push_str(&format!(
            "- sensitive region (sites in it are not independent): `{}`\n",
            p.display()
        )),
        None => md.push_str("- sensitive region: none given, every site counts as independent\n"),
    }
    let n_matched_obs = {
        let mut idx: Vec<usize> = m.pairs.iter().map(|p| p.obs_index).collect();
        idx.dedup();
        idx.len()
    };
    md.push_str(&format!(
        "- observations matched for at least one member: {n_matched_obs}; unmatched rows: {} \
         (see `unmatched.csv`)\n- members: {}\n\n",
        m.unmatched.len(),
        m.members.join(", ")
    ));
    md.push_str(
        "Bias is mean(simulated - observed). Trends are per decade, from sites with at least \
         3 single-year observations; trend RMSE and bias compare simulated with observed \
         trends over those sites, by ordinary least squares (OLS) and by Sen's slope; the \
         sign agreement is the share of those sites whose simulated Sen's slope has the \
         observed one's sign. `trends.csv` gives each site's trends with their Mann-Kendall \
         p-values (normal approximation, only indicative below about ten years).\n\n",
    );
    md.push_str(&summary.to_markdown());
    let json = serde_json::json!({
        "product": cfg.product,
        "observations": cfg.observations,
        "method": opts.method.name(),
        "lapse_rate_k_per_m": opts.elevation.as_ref().map(|_| cfg.lapse_rate),
        "n_observations": report.n_observations,
        "n_pairs": m.pairs.len(),
        "n_unmatched": m.unmatched.len(),
        "members": m.members,
        "scores": report.scores,
    });
    let json_path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| Error::Other(format!("{}: {e}", json_path.display())))?;
    crate::io::atomic::write_bytes_atomic(&json_path, text.as_bytes())?;
    files.push(json_path);
    let md_path = dir.join("summary.md");
    crate::io::atomic::write_bytes_atomic(&md_path, md.as_bytes())?;
    files.push(md_path);

    if cfg.plots {
        let slot = m.members.last().cloned().unwrap_or_default();
        let mut variables: Vec<ObsVariable> = m.pairs.iter().map(|p| p.variable).collect();
        variables.sort();
        variables.dedup();
        for v in variables {
            let (sim, obs): (Vec<f64>, Vec<f64>) = m
                .pairs
                .iter()
                .filter(|p| p.variable == v && p.member == slot)
                .map(|p| (p.sim, p.obs))
                .unzip();
            if sim.is_empty() {
                continue;
            }
            let p = dir.join(format!("scatter_{}.png", v.name()));
            scatter_one_to_one(&p, &sim, &obs, &format!("{} ({slot})", v.name()), v.unit())?;
            files.push(p);
        }
    }
    report.files = files;
    Ok(())
}
