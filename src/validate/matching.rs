//! Matching borehole observations to the cells of a gridded annual product.
//!
//! Rules, applied in this order to each observation:
//!
//! 1. **Domain**: the site's (lat, lon) must fall inside the product grid
//!    (longitudes given as 0..360 are tried modulo 360). A site outside is
//!    listed as unmatched.
//! 2. **Mask**: a cell is *masked* when it holds no class in any member and
//!    year of the product (sea, lake, glacier or cells the run skipped). A site
//!    whose own cell is masked is listed as unmatched, for both methods.
//! 3. **Variable**: `ALT`, `TTOP` and `GT10m` compare with the product's
//!    `alt`, `ttop` and `gt10m` maps. `MAGT` at a depth within
//!    [`MatchOptions::depth_tolerance`] of 10 m compares with `gt10m`; at a
//!    depth within the tolerance of [`MatchOptions::magt_depth`] (the depth of
//!    the product's `magt` field, which the product file does not record) with
//!    `magt`; any other depth is listed as unmatched, since the product holds
//!    no profile to interpolate.
//! 4. **Years**: an observation whose period `[start, end]` is not inside
//!    the validation years ([`MatchOptions::years`], when given) is listed as
//!    unmatched; every year of the period must be simulated; the simulated value of a period observation is the mean of
//!    the simulated years in the period. A year that is not simulated lists
//!    the observation as unmatched.
//! 5. **Interpolation** ([`MatchMethod`]): `nearest` takes the cell that
//!    contains the site; `bilinear` takes the (up to) four cell centres around
//!    the site with the usual bilinear weights `(1 - fx)(1 - fy)`, `fx(1 - fy)`,
//!    `(1 - fx) fy`, `fx fy`. Neighbours outside the grid, masked, or with a
//!    missing (NaN) value in a given year are dropped and the remaining weights
//!    renormalised to sum to 1, so a site between the outermost centre and
//!    the grid edge takes the values of the centres on its side.
//! 6. **Lapse rate** (temperatures only, optional): with a cell elevation map
//!    and a site elevation, each neighbour's value is corrected to the site
//!    elevation, `T_site = T_cell + lapse * (z_site - z_cell)` (lapse in K/m,
//!    default -6.5 K/km, the standard-atmosphere environmental lapse rate,
//!    ICAO 1993). A neighbour without elevation is dropped; a site without
//!    elevation is compared uncorrected (the pair records no correction).
//! 7. **Independence**: with a mask of the calibration's sensitive region on
//!    the product grid, a site whose own cell is in the region is flagged
//!    `independent = false`.
//!
//! Simulated values are taken for every member and, with more than one
//! member, for the ensemble mean. A product whose last member is named
//! [`ENSEMBLE_MEAN`] (a hindcast ensemble: the members' temperature profiles
//! averaged, then diagnosed) carries its own ensemble mean, which is used as
//! stored. Otherwise the ensemble mean is the mean over members of the
//! member values that exist (NaN only when no member has one) in each cell
//! and year. A member without a value for the observation (for example no
//! ALT because the cell has no permafrost in that member) gives an unmatched
//! row naming the member, or the single member `all` when no member has a
//! value.

use serde::{Deserialize, Serialize};

use super::obs::{ObsVariable, Observation};
use crate::diagnostics::GT_DEPTH_M;
use crate::io::geotiff::Crs;
use crate::io::netcdf_out::{AnnualMapStack, CLASS_FILL};
use crate::{Error, Result};

/// Name of the ensemble-mean member slot (the hindcast's name for it).
pub const ENSEMBLE_MEAN: &str = crate::config::hindcast::ENSEMBLE_MEAN;
/// Name of the single slice of a product without a member dimension.
pub const SINGLE_RUN: &str = "run";
/// Default elevation lapse rate of air and near-surface ground temperature (K/m).
pub const DEFAULT_LAPSE_RATE: f64 = -0.0065;

/// How an observation takes its value from the grid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMethod {
    /// The cell that contains the site.
    #[default]
    Nearest,
    /// Bilinear interpolation between the four surrounding cell centres.
    Bilinear,
}

impl MatchMethod {
    /// Parse `nearest` or `bilinear`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "nearest" => Ok(Self::Nearest),
            "bilinear" => Ok(Self::Bilinear),
            other => Err(Error::Other(format!(
                "unknown matching method `{other}`; one of nearest, bilinear"
            ))),
        }
    }

    /// The spelling used in files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nearest => "nearest",
            Self::Bilinear => "bilinear",
        }
    }
}

/// Options of [`match_observations`].
#[derive(Clone, Debug, PartialEq)]
pub struct MatchOptions {
    /// Nearest cell or bilinear.
    pub method: MatchMethod,
    /// Elevation lapse rate (K/m) used when `elevation` is given.
    pub lapse_rate: f64,
    /// Cell elevations (m a.s.l.) on the product grid, row-major, NaN where
    /// unknown; enables the lapse-rate correction of temperatures.
    pub elevation: Option<Vec<f64>>,
    /// Cells of the calibration's sensitive region on the product grid,
    /// row-major; sites in it are not independent.
    pub sensitive: Option<Vec<bool>>,
    /// Depth (m) of the product's `magt` field, if known.
    pub magt_depth: Option<f64>,
    /// Largest difference (m) between an observed MAGT depth and a product
    /// depth for the two to be compared.
    pub depth_tolerance: f64,
    /// First and last year (inclusive) of the observations validated;
    /// observations outside are listed as unmatched.
    pub years: Option<(i32, i32)>,
}

impl Default for MatchOptions {
    fn default() -> Self {
        Self {
            method: MatchMethod::Nearest,
            lapse_rate: DEFAULT_LAPSE_RATE,
            elevation: None,
            sensitive: None,
            magt_depth: None,
            depth_tolerance: 0.25,
            years: None,
        }
    }
}

/// Which product field an observation compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductField {
    /// `alt` (m).
    Alt,
    /// `ttop` (degC).
    Ttop,
    /// `gt10m` (degC).
    Gt10m,
    /// `magt` (degC) at [`MatchOptions::magt_depth`].
    Magt,
}

impl ProductField {
    /// The product variable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Alt => "alt",
            Self::Ttop => "ttop",
            Self::Gt10m => "gt10m",
            Self::Magt => "magt",
        }
    }

    fn values(self, stack: &AnnualMapStack) -> &[f32] {
        match self {
            Self::Alt => &stack.alt,
            Self::Ttop => &stack.ttop,
            Self::Gt10m => &stack.gt10m,
            Self::Magt => &stack.magt,
        }
    }
}

/// One observation compared with one member's (or the ensemble mean's) value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchedPair {
    /// Index of the observation in the input list.
    pub obs_index: usize,
    /// Line of the observation in its file.
    pub line: usize,
    pub site_id: String,
    pub variable: ObsVariable,
    /// Observation depth (m), for MAGT.
    pub depth: Option<f64>,
    /// First and last year of the observation period.
    pub start: i32,
    pub end: i32,
    /// Member name, [`ENSEMBLE_MEAN`] or [`SINGLE_RUN`].
    pub member: String,
    /// Observed value (m or degC).
    pub obs: f64,
    /// Simulated value at the site (m or degC), mean over the period.
    pub sim: f64,
    /// Lapse-rate correction (K) included in `sim`, when one was applied.
    pub lapse_correction: Option<f64>,
    /// The cell containing the site.
    pub row: usize,
    pub col: usize,
    /// False when the site's cell is in the calibration's sensitive region.
    pub independent: bool,
}

/// An observation (or one member's comparison) that could not be matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unmatched {
    /// Index of the observation in the input list.
    pub obs_index: usize,
    /// Line of the observation in its file.
    pub line: usize,
    pub site_id: String,
    pub lat: f64,
    pub lon: f64,
    pub variable: ObsVariable,
    pub start: i32,
    pub end: i32,
    /// The member concerned, or `all`.
    pub member: String,
    /// Why the observation was not compared.
    pub reason: String,
}

/// Matched pairs and unmatched observations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MatchResult {
    /// Member slots in output order (members, then [`ENSEMBLE_MEAN`] when
    /// there is more than one member).
    pub members: Vec<String>,
    /// Every matched pair, by observation then member.
    pub pairs: Vec<MatchedPair>,
    /// Every observation (or member comparison) that was not matched.
    pub unmatched: Vec<Unmatched>,
}

/// A neighbour cell and its (not yet renormalised) interpolation weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    /// Row-major cell index.
    pub cell: usize,
    /// Interpolation weight (before dropping missing values).
    pub weight: f64,
}

/// The cells and weights that give the value at (`lat`, `lon`) on the grid of
/// `stack`, with masked and off-grid cells already dropped (weights are not
/// renormalised here). `None` when the point is outside the grid.
pub fn neighbours(
    stack: &AnnualMapStack,
    land: &[bool],
    lat: f64,
    lon: f64,
    method: MatchMethod,
) -> Option<Vec<Neighbour>> {
    let g = &stack.grid;
    let (row, col) = g.cell_at(lon, lat)?;
    let own = row * g.cols + col;
    match method {
        MatchMethod::Nearest => Some(if land[own] {
            vec![Neighbour {
                cell: own,
                weight: 1.0,
            }]
        } else {
            Vec::new()
        }),
        MatchMethod::Bilinear => {
            let t = &g.transform;
            // Fractional index relative to the cell centres.
            let fc = (lon - t.x_origin) / t.dx - 0.5;
            let fr = (t.y_origin - lat) / t.dy - 0.5;
            let c0 = fc.floor();
            let r0 = fr.floor();
            let (wx, wy) = (fc - c0, fr - r0);
            let (c0, r0) = (c0 as i64, r0 as i64);
            let mut out = Vec::with_capacity(4);
            for (dr, dc, w) in [
                (0, 0, (1.0 - wx) * (1.0 - wy)),
                (0, 1, wx * (1.0 - wy)),
                (1, 0, (1.0 - wx) * wy),
                (1, 1, wx * wy),
            ] {
                let (r, c) = (r0 + dr, c0 + dc);
                if r < 0 || c < 0 || r as usize >= g.rows || c as usize >= g.cols {
                    continue;
                }
                let k = r as usize * g.cols + c as usize;
                if land[k] && w > 0.0 {
                    out.push(Neighbour { cell: k, weight: w });
                }
            }
            Some(out)
        }
    }
}

/// Land mask of the product: a cell is land when it has a class in some
/// member and year.
pub fn land_mask(stack: &AnnualMapStack) -> Vec<bool> {
    let n = stack.grid.len();
    let mut land = vec![false; n];
    for (i, &c) in stack.class.iter().enumerate() {
        if c != CLASS_FILL {
            land[i % n] = true;
        }
    }
    land
}

fn fmt_depth(d: Option<f64>) -> String {
    d.map_or_else(|| "an unrecorded depth".to_string(), |d| format!("{d} m"))
}

/// The product field for an observation, or the reason there is none.
pub fn field_for(
    obs: &Observation,
    opts: &MatchOptions,
) -> std::result::Result<ProductField, String> {
    match obs.variable {
        ObsVariable::Alt => Ok(ProductField::Alt),
        ObsVariable::Ttop => Ok(ProductField::Ttop),
        ObsVariable::Gt10m => Ok(ProductField::Gt10m),
        ObsVariable::Magt => {
            let d = obs.depth.unwrap_or(f64::NAN);
            if (d - GT_DEPTH_M).abs() <= opts.depth_tolerance {
                Ok(ProductField::Gt10m)
            } else if opts
                .magt_depth
                .is_some_and(|m| (d - m).abs() <= opts.depth_tolerance)
            {
                Ok(ProductField::Magt)
            } else {
                Err(format!(
                    "MAGT at {d} m: the product holds mean annual ground temperature only at \
                     {GT_DEPTH_M} m (gt10m) and at {} (magt)",
                    fmt_depth(opts.magt_depth)
                ))
            }
        }
    }
}

/// Whether the product carries its own ensemble mean as its last member.
fn stored_mean(stack: &AnnualMapStack) -> bool {
    stack.members.len() > 1 && stack.members.last().is_some_and(|m| m == ENSEMBLE_MEAN)
}

fn member_slots(stack: &AnnualMapStack) -> Vec<String> {
    if stack.members.is_empty() {
        vec![SINGLE_RUN.to_string()]
    } else if stack.members.len() == 1 || stored_mean(stack) {
        stack.members.clone()
    } else {
        let mut m = stack.members.clone();
        m.push(ENSEMBLE_MEAN.to_string());
        m
    }
}

/// Value of `field` for member slot `m` (the ensemble mean when `m` equals the
/// number of members of a multi-member stack) in year index `t` at `cell`.
fn slot_value(stack: &AnnualMapStack, values: &[f32], m: usize, t: usize, cell: usize) -> f64 {
    let nm = stack.n_members();
    let (nt, n) = (stack.years.len(), stack.grid.len());
    let at = |member: usize| values[(member * nt + t) * n + cell] as f64;
    if m < nm {
        return at(m);
    }
    let (mut s, mut k) = (0.0, 0usize);
    for member in 0..nm {
        let v = at(member);
        if v.is_finite() {
            s += v;
            k += 1;
        }
    }
    if k == 0 {
        f64::NAN
    } else {
        s / k as f64
    }
}

fn check_options(stack: &AnnualMapStack, opts: &MatchOptions) -> Result<()> {
    if let Crs::Projected(code) = stack.grid.crs {
        return Err(Error::Unsupported(format!(
            "matching needs a product on a geographic (lon/lat) grid; this one is projected \
             (EPSG:{code})"
        )));
    }
    let n = stack.grid.len();
    if let Some(e) = &opts.elevation {
        if e.len() != n {
            return Err(Error::Grid(format!(
                "the elevation map holds {} cells, the product grid {} ({} x {})",
                e.len(),
                n,
                stack.grid.cols,
                stack.grid.rows
            )));
        }
    }
    if let Some(s) = &opts.sensitive {
        if s.len() != n {
            return Err(Error::Grid(format!(
                "the sensitive-region mask holds {} cells, the product grid {} ({} x {})",
                s.len(),
                n,
                stack.grid.cols,
                stack.grid.rows
            )));
        }
    }
    if !(opts.lapse_rate.is_finite() && opts.lapse_rate.abs() < 0.1) {
        return Err(Error::Other(format!(
            "lapse rate {} K/m is not plausible (give it in K per metre, e.g. -0.0065)",
            opts.lapse_rate
        )));
    }
    if let Some((a, b)) = opts.years {
        if a > b {
            return Err(Error::Other(format!(
                "validation years {a}-{b}: give the first year first"
            )));
        }
    }
    if !(opts.depth_tolerance.is_finite() && opts.depth_tolerance >= 0.0) {
        return Err(Error::Other(format!(
            "depth tolerance {} m must be a non-negative number",
            opts.depth_tolerance
        )));
    }
    Ok(())
}

/// Match every observation to the product `stack` (see the module docs for the rules).
pub fn match_observations(
    stack: &AnnualMapStack,
    observations: &[Observation],
    opts: &MatchOptions,
) -> Result<MatchResult> {
    check_options(stack, opts)?;
    let land = land_mask(stack);
    let members = member_slots(stack);
    let g = &stack.grid;
    let mut out = MatchResult {
        members: members.clone(),
        ..Default::default()
    };
    let (y0, y1) = (
        *stack.years.first().unwrap_or(&0),
        *stack.years.last().unwrap_or(&0),
    );
    for (i, o) in observations.iter().enumerate() {
        let unmatched = |member: &str, reason: String| Unmatched {
            obs_index: i,
            line: o.line,
            site_id: o.site_id.clone(),
            lat: o.lat,
            lon: o.lon,
            variable: o.variable,
            start: o.start,
            end: o.end,
            member: member.to_string(),
            reason,
        };
        // 1. Domain (longitudes modulo 360).
        let located = [o.lon, o.lon - 360.0, o.lon + 360.0]
            .into_iter()
            .find_map(|lon| g.cell_at(lon, o.lat).map(|rc| (lon, rc)));
        let Some((lon, (row, col))) = located else {
            out.unmatched.push(unmatched(
                "all",
                format!(
                    "outside the product domain (lon {:.4}..{:.4}, lat {:.4}..{:.4})",
                    g.transform.x_origin,
                    g.transform.x_origin + g.cols as f64 * g.transform.dx,
                    g.transform.y_origin - g.rows as f64 * g.transform.dy,
                    g.transform.y_origin
                ),
            ));
            continue;
        };
        let own = row * g.cols + col;
        // 2. Mask.
        if !land[own] {
            out.unmatched.push(unmatched(
                "all",
                format!("on a masked cell (row {row}, col {col}): no simulated year"),
            ));
            continue;
        }
        // 3. Variable.
        let field = match field_for(o, opts) {
            Ok(f) => f,
            Err(reason) => {
                out.unmatched.push(unmatched("all", reason));
                continue;
            }
        };
        // 4. Years.
        if let Some((a, b)) = opts.years {
            if o.start < a || o.end > b {
                out.unmatched.push(unmatched(
                    "all",
                    format!("outside the validation years {a}-{b}"),
                ));
                continue;
            }
        }
        let mut t_idx = Vec::new();
        let mut missing_years = Vec::new();
        for y in o.start..=o.end {
            match stack.years.iter().position(|&s| s == y) {
                Some(t) => t_idx.push(t),
                None => missing_years.push(y),
            }
        }
        if !missing_years.is_empty() {
            out.unmatched.push(unmatched(
                "all",
                format!(
                    "year(s) {} not simulated (the product covers {y0}-{y1})",
                    compact_years(&missing_years)
                ),
            ));
            continue;
        }
        // 5. Neighbours, with masked / off-grid cells dropped.
        let mut nb = neighbours(stack, &land, o.lat, lon, opts.method).unwrap_or_default();
        // 6. Lapse-rate correction per neighbour.
        let mut corr = vec![0.0; nb.len()];
        let mut corrected = false;
        if let (Some(elev), Some(z_site), true) =
            (&opts.elevation, o.elevation, o.variable.is_temperature())
        {
            nb.retain(|n| elev[n.cell].is_finite());
            corr = nb
                .iter()
                .map(|n| opts.lapse_rate * (z_site - elev[n.cell]))
                .collect();
            corrected = true;
            if nb.is_empty() {
                out.unmatched.push(unmatched(
                    "all",
                    format!(
                        "lapse-rate correction: no elevation for the cell (row {row}, col {col}) \
                         or its neighbours"
                    ),
                ));
                continue;
            }
        }
        // 7. Independence.
        let independent = opts.sensitive.as_ref().is_none_or(|s| !s[own]);
        // Values per member slot.
        let values = field.values(stack);
        let mut missing: Vec<(usize, Vec<i32>)> = Vec::new();
        let mut pairs = Vec::new();
        for (m, name) in members.iter().enumerate() {
            let mut sum = 0.0;
            let mut corr_sum = 0.0;
            let mut no_value = Vec::new();
            for &t in &t_idx {
                let (mut v, mut c, mut w) = (0.0, 0.0, 0.0);
                for (n, dz) in nb.iter().zip(&corr) {
                    let x = slot_value(stack, values, m, t, n.cell);
                    if x.is_finite() {
                        v += n.weight * (x + dz);
                        c += n.weight * dz;
                        w += n.weight;
                    }
                }
                if w > 0.0 {
                    sum += v / w;
                    corr_sum += c / w;
                } else {
                    no_value.push(stack.years[t]);
                }
            }
            if !no_value.is_empty() {
                missing.push((m, no_value));
                continue;
            }
            let k = t_idx.len() as f64;
            pairs.push(MatchedPair {
                obs_index: i,
                line: o.line,
                site_id: o.site_id.clone(),
                variable: o.variable,
                depth: o.depth,
                start: o.start,
                end: o.end,
                member: name.clone(),
                obs: o.value,
                sim: sum / k,
                lapse_correction: corrected.then_some(corr_sum / k),
                row,
                col,
                independent,
            });
        }
        out.pairs.extend(pairs);
        let what = |years: &[i32]| {
            format!(
                "no simulated {} at the site in year(s) {}",
                field.name(),
                compact_years(years)
            )
        };
        if missing.len() == members.len() && !missing.is_empty() {
            // Report once when no member has a value: the years of the first member.
            out.unmatched.push(unmatched("all", what(&missing[0].1)));
        } else {
            for (m, years) in missing {
                out.unmatched.push(unmatched(&members[m], what(&years)));
            }
        }
    }
    Ok(out)
}

/// `2001-2003, 2007` style list of years (sorted input).
fn compact_years(years: &[i32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < years.len() {
        let mut j = i;
        while j + 1 < years.len() && years[j + 1] == years[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            years[i].to_string()
        } else {
            format!("{}-{}", years[i], years[j])
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::geotiff::RasterGrid;

    /// 3 x 3 one-degree grid, west 90 E, north 36 N; years 2000-2002; two
    /// members; field value = 10 row + col + 100 member + year offset.
    fn stack() -> AnnualMapStack {
        let grid = RasterGrid::geographic(3, 3, 90.0, 36.0, 1.0, 1.0);
        let mut s = AnnualMapStack::new(
            grid,
            vec![2000, 2001, 2002],
            vec!["a".to_string(), "b".to_string()],
        );
        for m in 0..2 {
            for t in 0..3 {
                for r in 0..3 {
                    for c in 0..3 {
                        let k = s.index(m, t, r, c);
                        let v = (10 * r + c + 100 * m + t) as f32;
                        s.class[k] = 1;
                        s.alt[k] = v;
                        s.ttop[k] = v;
                        s.gt10m[k] = v;
                        s.magt[k] = v;
                    }
                }
            }
        }
        s
    }

    fn obs(lat: f64, lon: f64, var: ObsVariable, start: i32, end: i32) -> Observation {
        Observation {
            line: 2,
            site_id: "S".into(),
            name: String::new(),
            lat,
            lon,
            elevation: None,
            variable: var,
            depth: None,
            start,
            end,
            value: 0.0,
            uncertainty: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn bilinear_weights_hand_computed() {
        let s = stack();
        let land = land_mask(&s);
        // fx = 0.8 - 0.5 = 0.3, fy = (36 - 35.2) - 0.5 = 0.3.
        let nb = neighbours(&s, &land, 35.2, 90.8, MatchMethod::Bilinear).unwrap();
        let w: Vec<(usize, f64)> = nb.iter().map(|n| (n.cell, n.weight)).collect();
        let expect = [(0, 0.49), (1, 0.21), (3, 0.21), (4, 0.09)];
        assert_eq!(w.len(), 4);
        for ((c, w), (ce, we)) in w.iter().zip(expect) {
            assert_eq!(*c, ce);
            assert!(close(*w, we), "{w} vs {we}");
        }
        // Values 0, 1, 10, 11 (member a, 2000): 0.21 + 2.1 + 0.99 = 3.3.
        let r = match_observations(
            &s,
            &[obs(35.2, 90.8, ObsVariable::Alt, 2000, 2000)],
            &MatchOptions {
                method: MatchMethod::Bilinear,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(close(r.pairs[0].sim, 3.3), "{}", r.pairs[0].sim);
        // Member b adds 100; the ensemble mean adds 50.
        assert_eq!(r.members, ["a", "b", ENSEMBLE_MEAN]);
        assert!(close(r.pairs[1].sim, 103.3));
        assert!(close(r.pairs[2].sim, 53.3));
    }

    #[test]
    fn bilinear_drops_masked_and_missing_neighbours() {
        let mut s = stack();
        // Mask cell (1, 1) in every member and year.
        for m in 0..2 {
            for t in 0..3 {
                let k = s.index(m, t, 1, 1);
                s.class[k] = CLASS_FILL;
                s.alt[k] = f32::NAN;
            }
        }
        let opts = MatchOptions {
            method: MatchMethod::Bilinear,
            ..Default::default()
        };
        let r = match_observations(&s, &[obs(35.2, 90.8, ObsVariable::Alt, 2000, 2000)], &opts)
            .unwrap();
        // (0.21 * 1 + 0.21 * 10) / 0.91.
        assert!(close(r.pairs[0].sim, 2.31 / 0.91), "{}", r.pairs[0].sim);
        // A NaN value (not a masked cell) in one year is dropped the same way.
        let mut s = stack();
        let k = s.index(0, 0, 0, 1);
        s.alt[k] = f32::NAN;
        let r = match_observations(&s, &[obs(35.2, 90.8, ObsVariable::Alt, 2000, 2000)], &opts)
            .unwrap();
        assert!(close(r.pairs[0].sim, (2.1 + 0.99) / 0.79));
    }

    #[test]
    fn grid_edges_and_masked_cells() {
        let mut s = stack();
        // Last cell (row 2, col 2), between its centre and the south-east corner.
        let last = obs(33.1, 92.9, ObsVariable::Alt, 2001, 2001);
        for method in [MatchMethod::Nearest, MatchMethod::Bilinear] {
            let opts = MatchOptions {
                method,
                ..Default::default()
            };
            let r = match_observations(&s, std::slice::from_ref(&last), &opts).unwrap();
            assert!(r.unmatched.is_empty(), "{:?}", r.unmatched);
            assert_eq!((r.pairs[0].row, r.pairs[0].col), (2, 2));
            // Only the centre of (2, 2) is on the grid: value 22 + 1 (2001).
            assert!(close(r.pairs[0].sim, 23.0), "{method:?} {}", r.pairs[0].sim);
        }
        // Longitudes given in 0..360 or shifted by a turn find the same cell.
        let wrapped = obs(33.1, 92.9 + 360.0, ObsVariable::Alt, 2001, 2001);
        let r = match_observations(&s, &[wrapped], &MatchOptions::default()).unwrap();
        assert_eq!((r.pairs[0].row, r.pairs[0].col), (2, 2));
        // Just outside the south edge and the east edge.
        let outside = [
            obs(32.99, 92.9, ObsVariable::Alt, 2001, 2001),
            obs(33.1, 93.01, ObsVariable::Alt, 2001, 2001),
        ];
        let r = match_observations(&s, &outside, &MatchOptions::default()).unwrap();
        assert!(r.pairs.is_empty());
        assert_eq!(r.unmatched.len(), 2);
        assert!(r.unmatched[0].reason.contains("outside the product domain"));
        // On a masked cell.
        for m in 0..2 {
            for t in 0..3 {
                let k = s.index(m, t, 0, 2);
                s.class[k] = CLASS_FILL;
            }
        }
        let r = match_observations(
            &s,
            &[obs(35.5, 92.5, ObsVariable::Alt, 2000, 2000)],
            &MatchOptions::default(),
        )
        .unwrap();
        assert!(r.pairs.is_empty());
        assert!(r.unmatched[0].reason.contains("masked cell (row 0, col 2)"));
    }

    #[test]
    fn periods_are_averaged_and_unsimulated_years_listed() {
        let s = stack();
        // Cell (1, 2) = 12; years 2000..2002 add 0, 1, 2 -> mean 13.
        let r = match_observations(
            &s,
            &[
                obs(34.5, 92.5, ObsVariable::Ttop, 2000, 2002),
                obs(34.5, 92.5, ObsVariable::Ttop, 2001, 2004),
            ],
            &MatchOptions::default(),
        )
        .unwrap();
        assert!(close(r.pairs[0].sim, 13.0));
        assert_eq!(r.pairs.len(), 3);
        assert_eq!(r.unmatched.len(), 1);
        assert!(
            r.unmatched[0].reason.contains("2003-2004 not simulated"),
            "{}",
            r.unmatched[0].reason
        );
    }

    #[test]
    fn validation_years_list_observations_outside() {
        let s = stack();
        let opts = MatchOptions {
            years: Some((2001, 2002)),
            ..Default::default()
        };
        let r = match_observations(
            &s,
            &[
                obs(34.5, 92.5, ObsVariable::Ttop, 2001, 2002),
                obs(34.5, 92.5, ObsVariable::Ttop, 2000, 2001),
                obs(34.5, 92.5, ObsVariable::Alt, 2000, 2000),
            ],
            &opts,
        )
        .unwrap();
        // Only the first lies inside 2001-2002: a, b and the ensemble mean.
        assert_eq!(r.pairs.len(), 3);
        assert!(r.pairs.iter().all(|p| p.start == 2001));
        assert_eq!(r.unmatched.len(), 2);
        assert!(r
            .unmatched
            .iter()
            .all(|u| u.reason.contains("outside the validation years 2001-2002")));
        let bad = MatchOptions {
            years: Some((2002, 2001)),
            ..Default::default()
        };
        assert!(match_observations(&s, &[], &bad).is_err());
    }

    #[test]
    fn a_stored_ensemble_mean_is_used_as_is() {
        // Members a, b and a stored mean whose values differ from the
        // members' average (profiles averaged, then diagnosed).
        let base = stack();
        let mut s = AnnualMapStack::new(
            base.grid,
            base.years.clone(),
            vec!["a".into(), "b".into(), ENSEMBLE_MEAN.into()],
        );
        let n = base.class.len();
        s.class[..n].copy_from_slice(&base.class);
        s.alt[..n].copy_from_slice(&base.alt);
        for k in 0..n / 2 {
            s.class[n + k] = 1;
            s.alt[n + k] = base.alt[k] + 7.0;
        }
        let r = match_observations(
            &s,
            &[obs(35.2, 90.8, ObsVariable::Alt, 2000, 2000)],
            &MatchOptions::default(),
        )
        .unwrap();
        // Cell (0, 0) of member a is 0 and of member b 100; the stored mean is 7.
        assert_eq!(r.members, ["a", "b", ENSEMBLE_MEAN]);
        assert_eq!(r.pairs.len(), 3);
        assert!(close(r.pairs[0].sim, 0.0));
        assert!(close(r.pairs[1].sim, 100.0));
        assert!(close(r.pairs[2].sim, 7.0), "{}", r.pairs[2].sim);
    }

    #[test]
    fn lapse_correction_hand_computed() {
        let s = stack();
        let mut elev = vec![4500.0; 9];
        elev[5] = 4700.0; // cell (1, 2)
        let opts = MatchOptions {
            elevation: Some(elev),
            ..Default::default()
        };
        let mut o = obs(34.5, 92.5, ObsVariable::Gt10m, 2000, 2000);
        o.elevation = Some(4900.0);
        let mut alt = o.clone();
        alt.variable = ObsVariable::Alt;
        let mut no_z = o.clone();
        no_z.elevation = None;
        let r = match_observations(&s, &[o, alt, no_z], &opts).unwrap();
        // 12 + (-0.0065)(4900 - 4700) = 12 - 1.3.
        assert!(close(r.pairs[0].sim, 10.7));
        assert!(close(r.pairs[0].lapse_correction.unwrap(), -1.3));
        // ALT is not a temperature; a site without elevation is uncorrected.
        assert!(close(r.pairs[3].sim, 12.0) && r.pairs[3].lapse_correction.is_none());
        assert!(close(r.pairs[6].sim, 12.0) && r.pairs[6].lapse_correction.is_none());
    }

    #[test]
    fn bilinear_lapse_correction_hand_computed() {
        let s = stack();
        // Cells 0, 1, 3, 4 at 4000, 4100, 4200, 4300 m; the site at 4250 m.
        let mut elev = vec![f64::NAN; 9];
        for (k, z) in [(0, 4000.0), (1, 4100.0), (3, 4200.0), (4, 4300.0)] {
            elev[k] = z;
        }
        let mut o = obs(35.2, 90.8, ObsVariable::Ttop, 2000, 2000);
        o.elevation = Some(4250.0);
        let opts = MatchOptions {
            method: MatchMethod::Bilinear,
            elevation: Some(elev.clone()),
            ..Default::default()
        };
        let r = match_observations(&s, std::slice::from_ref(&o), &opts).unwrap();
        // Weighted cell elevation 0.49*4000 + 0.21*4100 + 0.21*4200 + 0.09*4300
        // = 4090 m -> correction -0.0065 * 160 = -1.04 K; 3.3 - 1.04 = 2.26.
        assert!(close(r.pairs[0].lapse_correction.unwrap(), -1.04));
        assert!(close(r.pairs[0].sim, 2.26), "{}", r.pairs[0].sim);
        // A neighbour without elevation is dropped: without cell 4 the weights
        // 0.49, 0.21, 0.21 renormalise over 0.91.
        elev[4] = f64::NAN;
        let opts = MatchOptions {
            elevation: Some(elev),
            ..opts
        };
        let r = match_observations(&s, &[o], &opts).unwrap();
        let w = [0.49 / 0.91, 0.21 / 0.91, 0.21 / 0.91];
        let v = w[0] * (0.0 - 1.625) + w[1] * (1.0 - 0.975) + w[2] * (10.0 - 0.325);
        assert!(close(r.pairs[0].sim, v), "{} vs {v}", r.pairs[0].sim);
    }

    #[test]
    fn magt_depths_and_sensitive_region() {
        let s = stack();
        let mut sens = vec![false; 9];
        sens[4] = true;
        let opts = MatchOptions {
            sensitive: Some(sens),
            magt_depth: Some(15.0),
            ..Default::default()
        };
        let mut a = obs(34.5, 91.5, ObsVariable::Magt, 2000, 2000);
        a.depth = Some(10.1);
        let mut b = a.clone();
        b.depth = Some(15.0);
        let mut c = a.clone();
        c.depth = Some(3.0);
        c.lat = 35.5;
        let r = match_observations(&s, &[a, b, c], &opts).unwrap();
        assert_eq!(r.pairs.len(), 6);
        assert!(r.pairs.iter().all(|p| !p.independent));
        assert_eq!(r.unmatched.len(), 1);
        assert!(r.unmatched[0].reason.contains("MAGT at 3 m"));
        let bad = MatchOptions {
            elevation: Some(vec![0.0; 4]),
            ..Default::default()
        };
        let e = match_observations(&s, &[], &bad).unwrap_err().to_string();
        assert!(
            e.contains("grid mismatch") && e.contains("elevation"),
            "{e}"
        );
    }

    #[test]
    fn members_without_a_value_are_listed() {
        let mut s = stack();
        // No ALT in member b at cell (0, 0), year 2000; none in any member at (0, 1).
        let k = s.index(1, 0, 0, 0);
        s.alt[k] = f32::NAN;
        for m in 0..2 {
            let k = s.index(m, 0, 0, 1);
            s.alt[k] = f32::NAN;
        }
        let r = match_observations(
            &s,
            &[
                obs(35.5, 90.5, ObsVariable::Alt, 2000, 2000),
                obs(35.5, 91.5, ObsVariable::Alt, 2000, 2000),
            ],
            &MatchOptions::default(),
        )
        .unwrap();
        // Member a and the ensemble mean (from a alone) match the first site.
        assert_eq!(r.pairs.len(), 2);
        assert!(close(r.pairs[1].sim, 0.0));
        assert_eq!(r.unmatched.len(), 2);
        assert_eq!(r.unmatched[0].member, "b");
        assert_eq!(r.unmatched[1].member, "all");
        assert_eq!(compact_years(&[2001, 2002, 2003, 2007]), "2001-2003, 2007");
    }
}
