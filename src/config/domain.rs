//! The `[domain]` and `[period]` sections shared by hindcasts, calibrations and
//! sensitivity studies over a gridded domain.

use serde::Deserialize;

/// Where a gridded domain's forcing and static maps come from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSection {
    /// Forcing preset: `cmfd` (the seven CMFD variables `temp pres shum wind srad
    /// lrad prec` in `<var>*.nc` files of `forcing_dir`) or `era5` (`t2m d2m sp
    /// u10 v10 ssrd strd tp` as `<var>.nc`), or `custom` with `[domain.forcing_spec]`.
    #[serde(default = "default_preset")]
    pub forcing: String,
    /// Folder of the forcing files (presets).
    pub forcing_dir: Option<String>,
    /// Full variable mapping for `forcing = "custom"` (see `CfForcingSpec`).
    pub forcing_spec: Option<toml::Value>,
    /// Static maps (netCDF with `elevation`, `soil`, `vegetation`, `mask` on the
    /// forcing grid, as `calimap demo` writes them).
    #[serde(rename = "static")]
    pub static_maps: String,
    /// Number of top layers that take the mapped soil class.
    #[serde(default = "default_soil_layers")]
    pub soil_layers: usize,
    /// Soil classes of the layers below `soil_layers`, top down.
    #[serde(default)]
    pub deep_soil: Vec<u32>,
    /// Deep soil temperature TBOT: `"mean-air"` (each cell's mean air
    /// temperature over the spin-up years) or a number (K).
    #[serde(default = "default_tbot")]
    pub tbot: toml::Value,
    /// Memory budget of one forcing tile (MB).
    #[serde(default = "default_tile_mb")]
    pub tile_memory_mb: usize,
    /// Optional cell subset, as `[row, col]` pairs (row 0 north).
    pub cells: Option<Vec<[usize; 2]>>,
    /// Generate the synthetic demo domain at these paths if `static` is missing.
    pub generate: Option<GenerateSection>,
}

/// Settings of a generated synthetic domain (see `calimap demo`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSection {
    #[serde(default = "default_nx")]
    pub nx: usize,
    #[serde(default = "default_ny")]
    pub ny: usize,
    #[serde(default = "default_years")]
    pub years: u32,
    #[serde(default = "default_step")]
    pub step: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default = "default_start_year")]
    pub start_year: i32,
}

/// The simulated period.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodSection {
    /// First and last year (inclusive) of the forcing recycled during spin-up.
    pub spinup: [i32; 2],
    /// First year of the transient run.
    pub start: i32,
    /// Last year of the transient run (inclusive).
    pub end: i32,
}

fn default_preset() -> String {
    "cmfd".into()
}
fn default_soil_layers() -> usize {
    10
}
fn default_tbot() -> toml::Value {
    toml::Value::String("mean-air".into())
}
fn default_tile_mb() -> usize {
    256
}
fn default_nx() -> usize {
    40
}
fn default_ny() -> usize {
    30
}
fn default_years() -> u32 {
    5
}
fn default_step() -> String {
    "3h".into()
}
fn default_seed() -> u64 {
    1
}
fn default_start_year() -> i32 {
    2000
}
