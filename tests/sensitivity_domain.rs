//! A Morris study of the column model over a tiny generated domain, run
//! through `calimap run`: a warmer lower boundary must warm the ground, and
//! CZIL must be inert when the thermal roughness follows Yang et al. (2008).

use std::process::Command;

#[test]
fn morris_over_a_domain_ranks_tbot_above_an_inert_czil() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exp = d.join("sens.toml");
    std::fs::write(
        &exp,
        format!(
            r#"
kind = "sensitivity"
output = "out"
seed = 4
[model]
tables = "{root}/models/noah-tibet"
thermal_roughness = "yang08"
[domain]
forcing_dir = "dom/forcing"
static = "dom/static.nc"
deep_soil = [12, 12, 12, 13, 13, 13, 13, 13, 14, 14]
generate = {{ nx = 3, ny = 2, years = 2, step = "1d", seed = 9 }}
[spinup]
tolerance = 0.1
max_cycles = 3
[period]
spinup = [2000, 2000]
start = 2000
end = 2001
[sensitivity]
method = "morris"
parameters = ["tbot_offset", "czil"]
outputs = ["magt", "permafrost_area"]
levels = 4
trajectories = 3
candidates = 6
bootstrap = 50
"#,
            root = env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_calimap"))
        .args(["run", exp.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(d.join("out/indices.csv")).unwrap();
    let get = |output: &str, param: &str| -> (f64, f64) {
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{output},{param},")))
            .unwrap_or_else(|| panic!("no row for {output} {param} in\n{csv}"));
        let f: Vec<&str> = line.split(',').collect();
        (f[3].parse().unwrap(), f[4].parse().unwrap()) // mu, mu_star
    };
    let (mu_tbot, mu_star_tbot) = get("magt", "tbot_offset");
    let (_, mu_star_czil) = get("magt", "czil");
    // +6 K of TBOT over the unit range warms the deep ground by degrees
    assert!(
        mu_tbot > 0.5 && mu_star_tbot > 0.5,
        "tbot_offset mu {mu_tbot}, mu* {mu_star_tbot}"
    );
    assert_eq!(mu_star_czil, 0.0, "czil must be inert under yang08");
    assert!(d.join("out/screened.toml").exists());
    assert!(d.join("out/ranking_magt.png").exists());
}
