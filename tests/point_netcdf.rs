//! Point runs on CF-netCDF forcing: the cell of a gridded forcing picked by
//! index or by the site's coordinates, the errors for a cell that is not
//! there, and the 42-year Terelj ERA5 hindcast with its decadal trends
//! checked against a textbook OLS and a brute-force Sen's slope.

mod common;

use std::path::Path;

use calimap::config::{Body, Experiment};
use calimap::forcing::synthetic::{write_synthetic_domain, SyntheticSpec};
use calimap::forcing::{CfForcingSpec, GriddedForcing};
use calimap::workflow::point::{run_point, PointSummary};

/// A point experiment in `dir` with the given `[forcing]` and `[spinup]`
/// lines on a fixed 20-layer column, run quietly.
fn run(dir: &Path, name: &str, forcing: &str, spinup: &str) -> calimap::Result<PointSummary> {
    let exp_path = dir.join(format!("{name}.toml"));
    let text = format!(
        r#"kind = "point"
output = "out-{name}"

[model]
tables = "{tables}/models/noah-tibet"
soil_classes = [7, 7, 7, 7, 9, 9, 9, 9, 9, 9, 12, 12, 12, 13, 13, 13, 14, 14, 14, 14]
veg_class = 7
tbot = 270.0

[forcing]
{forcing}

[spinup]
{spinup}

[outputs]
daily = false
plots = false
"#,
        tables = env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(&exp_path, text).unwrap();
    let exp = Experiment::load(&exp_path)?;
    let Body::Point(p) = &exp.body else {
        panic!("a point experiment")
    };
    run_point(&exp, p, None, true)
}

#[test]
fn a_gridded_forcing_runs_the_cell_given_by_index_or_by_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    // 4 columns x 3 rows of 0.1 degrees from (36.0 N, 90.0 E), two daily years.
    let spec = SyntheticSpec::demo(4, 3, 2, 86400.0, 11).unwrap();
    write_synthetic_domain(dir.path(), &spec).unwrap();
    let forcing_dir = dir.path().join("forcing");
    let cmfd = format!(
        "format = \"netcdf\"\npreset = \"cmfd\"\npath = \"{}\"",
        forcing_dir.display()
    );
    let spinup = "recycle_years = 1\nmax_cycles = 2\nstart = \"equilibrium\"";

    let by_index = run(
        dir.path(),
        "index",
        &format!("{cmfd}\ncell = [2, 1]"),
        spinup,
    )
    .unwrap();
    // The centre of row 2, column 1.
    let by_site = run(
        dir.path(),
        "site",
        &format!("{cmfd}\nlat = 35.75\nlon = 90.15"),
        spinup,
    )
    .unwrap();
    let other = run(
        dir.path(),
        "other",
        &format!("{cmfd}\ncell = [0, 3]"),
        spinup,
    )
    .unwrap();

    // The forcing the runs saw is that cell's, as read directly.
    let g = GriddedForcing::open(&CfForcingSpec::cmfd(&forcing_dir).unwrap()).unwrap();
    let mean_t = |r, c| {
        let f = g.read_point(r, c).unwrap();
        f.steps.iter().map(|s| s.t_air).sum::<f64>() / f.steps.len() as f64 - 273.15
    };
    assert!(
        by_index.forcing.source.contains("cell (2, 1)"),
        "{}",
        by_index.forcing.source
    );
    assert!((by_index.forcing.mean_air_temperature_c - mean_t(2, 1)).abs() < 1e-9);
    assert!((other.forcing.mean_air_temperature_c - mean_t(0, 3)).abs() < 1e-9);
    assert!(
        (mean_t(2, 1) - mean_t(0, 3)).abs() > 0.1,
        "the cells differ"
    );
    assert_eq!(by_index.forcing.steps, 731);
    // The same cell by coordinates gives the same run, bit for bit.
    let annual = |s: &PointSummary| std::fs::read_to_string(s.output.join("annual.csv")).unwrap();
    assert_eq!(annual(&by_index), annual(&by_site));
    assert_eq!(
        serde_json::to_string(&by_index.annual).unwrap(),
        serde_json::to_string(&by_site.annual).unwrap()
    );
    assert_ne!(annual(&by_index), annual(&other));

    // Errors name the key and say what the grid is.
    let err = |forcing: &str| {
        run(dir.path(), "bad", forcing, spinup)
            .unwrap_err()
            .to_string()
    };
    let e = err(&cmfd);
    assert!(
        e.contains("forcing.cell") && e.contains("3 rows x 4 columns"),
        "{e}"
    );
    let e = err(&format!("{cmfd}\ncell = [3, 0]"));
    assert!(e.contains("forcing.cell") && e.contains("outside"), "{e}");
    let e = err(&format!("{cmfd}\nlat = 40.0\nlon = 90.15"));
    assert!(
        e.contains("forcing.lat") && e.contains("outside the forcing grid"),
        "{e}"
    );
    let e = err(&format!(
        "format = \"netcdf\"\npreset = \"cmfd\"\npath = \"{}\"",
        dir.path().join("static.nc").display()
    ));
    assert!(
        e.contains("forcing.path") && e.contains("not a folder"),
        "{e}"
    );
    assert!(!dir.path().join("out-bad/annual.csv").exists());
}

/// OLS slope of y on x, the textbook formula.
fn ols(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// Sen's slope: the median of all pairwise slopes.
fn sen(x: &[f64], y: &[f64]) -> f64 {
    let mut s = Vec::new();
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            s.push((y[j] - y[i]) / (x[j] - x[i]));
        }
    }
    s.sort_by(f64::total_cmp);
    let m = s.len();
    if m % 2 == 1 {
        s[m / 2]
    } else {
        0.5 * (s[m / 2 - 1] + s[m / 2])
    }
}

#[test]
fn terelj_era5_point_hindcast_gives_every_year_and_its_trends() {
    // The experiment file finds the shared data itself (`@shared/`).
    if common::shared_data().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exp_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/terelj-era5-point.toml");
    let exp = Experiment::load(&exp_path).unwrap();
    let Body::Point(p) = &exp.body else {
        panic!("a point experiment")
    };
    let out = dir.path().join("out");
    let s = run_point(&exp, p, Some(out.clone()), true).unwrap();

    // 1979-01-01 06:00 to 2020-12-31 18:00 in 6-hour steps; every calendar
    // year is in the diagnostics.
    assert_eq!(s.steps, 61_362);
    assert_eq!(s.forcing.step_seconds, 21_600.0);
    let years: Vec<i32> = s.annual.iter().map(|a| a.year).collect();
    assert_eq!(years, (1979..=2020).collect::<Vec<_>>());
    // The ERA5 precipitation and downward longwave at the hourly accumulation
    // (see `CfForcingSpec::era5`), and the mean air temperature.
    assert!(
        (s.forcing.precipitation_mm_per_year - 374.0).abs() < 1.0,
        "{:?}",
        s.forcing
    );
    assert!(
        (s.forcing.mean_lw_down_w_m2 - 231.0).abs() < 1.0,
        "{:?}",
        s.forcing
    );
    assert!(
        (s.forcing.mean_air_temperature_c + 2.53).abs() < 0.005,
        "{:?}",
        s.forcing
    );
    // tbot = "mean-air": the mean 2 m air temperature of the ten recycled
    // years, 3650 days of 4 steps.
    let f = calimap::forcing::read_cf_point(&CfForcingSpec::era5(&p.forcing_path)).unwrap();
    let decade = f.steps[..3650 * 4].iter().map(|s| s.t_air).sum::<f64>() / (3650.0 * 4.0);
    let tbot = s.tbot_k.unwrap();
    assert!((tbot - decade).abs() < 1e-9, "{tbot} vs {decade}");
    assert!(s.spinup_converged, "spin-up: {} cycles", s.spinup_cycles);
    assert!(s.energy_imbalance_w_m2.abs() < 1e-3 && s.water_imbalance_mm_per_year.abs() < 1e-3);

    // Trends against the reference formulas, per decade.
    let x: Vec<f64> = s.annual.iter().map(|a| f64::from(a.year)).collect();
    let check =
        |name: &str, got: &Option<calimap::metrics::stats::DecadalTrend>, y: Vec<Option<f64>>| {
            let (xs, ys): (Vec<f64>, Vec<f64>) = x
                .iter()
                .zip(&y)
                .filter_map(|(a, b)| b.map(|b| (*a, b)))
                .unzip();
            let t = got.unwrap_or_else(|| panic!("{name}: no trend"));
            assert_eq!(t.n, xs.len(), "{name}");
            let (o, m) = (10.0 * ols(&xs, &ys), 10.0 * sen(&xs, &ys));
            assert!(
                (t.ols_per_decade - o).abs() <= 1e-9 * o.abs().max(1.0),
                "{name}: {} vs {o}",
                t.ols_per_decade
            );
            assert!(
                (t.sen_per_decade - m).abs() <= 1e-9 * m.abs().max(1.0),
                "{name}: {} vs {m}",
                t.sen_per_decade
            );
            // The slope's standard error and the Mann-Kendall p-value (distinct
            // years and, on this run, distinct values: no tie correction).
            let n = xs.len() as f64;
            let b = ols(&xs, &ys);
            let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
            let sxx: f64 = xs.iter().map(|a| (a - mx) * (a - mx)).sum();
            let rss: f64 = xs
                .iter()
                .zip(&ys)
                .map(|(a, v)| (v - my - b * (a - mx)).powi(2))
                .sum();
            let se = 10.0 * (rss / (n - 2.0) / sxx).sqrt();
            let got_se = t.ols_se_per_decade.unwrap();
            assert!(
                (got_se - se).abs() <= 1e-9 * se,
                "{name}: s.e. {got_se} vs {se}"
            );
            let mut sorted = ys.clone();
            sorted.sort_by(f64::total_cmp);
            assert!(
                sorted.windows(2).all(|w| w[0] < w[1]),
                "{name}: tied values"
            );
            let mut s = 0.0;
            for i in 0..ys.len() {
                for j in i + 1..ys.len() {
                    s += (ys[j] - ys[i]).signum();
                }
            }
            let z = (s - s.signum()) / (n * (n - 1.0) * (2.0 * n + 5.0) / 18.0).sqrt();
            let p = calimap::metrics::erfc(z.abs() / std::f64::consts::SQRT_2);
            let got_p = t.mann_kendall_p.unwrap();
            assert!((got_p - p).abs() <= 1e-12, "{name}: p {got_p} vs {p}");
        };
    check(
        "ALT",
        &s.trends.alt_m,
        s.annual.iter().map(|a| a.alt).collect(),
    );
    check(
        "TTOP",
        &s.trends.ttop_k,
        s.annual.iter().map(|a| a.ttop).collect(),
    );
    check(
        "GT10m",
        &s.trends.gt10m_k,
        s.annual.iter().map(|a| Some(a.gt10m)).collect(),
    );
    check(
        "MAGT",
        &s.trends.magt_k,
        s.annual.iter().map(|a| Some(a.magt)).collect(),
    );

    // The same files through a custom mapping give the same run.
    let era5_dir = p.forcing_path.display().to_string();
    let custom = run(
        dir.path(),
        "custom",
        &format!(
            r#"format = "netcdf"
preset = "custom"
path = "{era5_dir}"
[forcing.spec]
t_air = {{ name = "t2m", files = ["t2m.nc"] }}
p_air = {{ name = "sp", files = ["sp.nc"] }}
dewpoint = {{ name = "d2m", files = ["d2m.nc"] }}
wind_u = {{ name = "u10", files = ["u10.nc"] }}
wind_v = {{ name = "v10", files = ["v10.nc"] }}
sw_down = {{ name = "ssrd", files = ["ssrd.nc"], accumulation = 3600.0 }}
lw_down = {{ name = "strd", files = ["strd.nc"], accumulation = 3600.0 }}
precip = {{ name = "tp", files = ["tp.nc"], accumulation = 3600.0 }}"#
        ),
        "recycle_years = 10\nmax_cycles = 0",
    )
    .unwrap();
    let preset = run(
        dir.path(),
        "preset",
        &format!("format = \"netcdf\"\npreset = \"era5\"\npath = \"{era5_dir}\""),
        "recycle_years = 10\nmax_cycles = 0",
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&custom.annual).unwrap(),
        serde_json::to_string(&preset.annual).unwrap()
    );

    // The outputs: the tables, the plots (PNG), and every forcing file in the manifest.
    for f in [
        "annual.csv",
        "daily.csv",
        "spinup.csv",
        "summary.json",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    for f in [
        "annual_alt.png",
        "annual_temperature.png",
        "ground_temperature.png",
        "spinup.png",
    ] {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{f}");
    }
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    for v in ["t2m", "d2m", "sp", "u10", "v10", "ssrd", "strd", "tp"] {
        assert!(
            manifest.contains(&format!("terelj-era5/{v}.nc")),
            "{v} not in the manifest"
        );
    }
}
