//! The tiny twin calibration experiment shared by the calibration tests: a
//! generated 8 x 6 domain (daily steps, spin-up 2000, transient 2000-2001)
//! whose reference map of 2001 is made from hidden values of `bexp` and
//! `quartz`, calibrated on the cells where the defaults disagree with it.

use std::path::Path;

/// The experiment text, with data and outputs under `dir` (`dir/data`,
/// `dir/out`). `extra` is appended at the end of the `[calibration]` table
/// (more keys, then any further tables).
pub fn twin_experiment(dir: &Path, optimizer: &str, budget: usize, extra: &str) -> String {
    format!(
        r#"
kind = "calibration"
output = "{d}/out"
seed = 5
[model]
tables = "{root}/models/noah-tibet"
[domain]
forcing = "cmfd"
forcing_dir = "{d}/data/forcing"
static = "{d}/data/static.nc"
soil_layers = 10
deep_soil = [12, 12, 12, 13, 13, 13, 13, 13, 14, 14]
generate = {{ nx = 8, ny = 6, years = 2, step = "1d", seed = 4 }}
[spinup]
tolerance = 0.05
max_cycles = 4
[period]
spinup = [2000, 2000]
start = 2000
end = 2001
[calibration]
reference = "{d}/data/reference_2001.tif"
year = 2001
classes = 2
region = "sensitive"
neighbourhood = 1
parameters = ["bexp", "quartz"]
optimizer = "{optimizer}"
budget = {budget}
q = 3
n_init = 5
top_k = 4
truth = {{ seed = 3, spread = 0.5, parameters = ["bexp", "quartz"] }}
{extra}
"#,
        d = dir.display(),
        root = env!("CARGO_MANIFEST_DIR"),
    )
}
