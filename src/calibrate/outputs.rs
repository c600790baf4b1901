//! Calibration products beside the evaluation log: convergence table and plot,
//! and one call that writes every product of a finished calibration.

use std::path::{Path, PathBuf};

use super::registry::{write_atomic, ParamSpace};
use super::run::{write_outputs, CalibrationResult};
use crate::{Error, Result};

/// File names of the products written by [`write_all`].
#[derive(Debug, Clone)]
pub struct OutputPaths {
    /// Best parameters (TOML, loadable as a parameter set).
    pub best: PathBuf,
    /// Top-K table (CSV).
    pub top_k: PathBuf,
    /// Value and best-so-far per evaluation (CSV).
    pub convergence_csv: PathBuf,
    /// Best value against evaluation number (PNG).
    pub convergence_png: PathBuf,
}

impl OutputPaths {
    /// The standard names in `dir`: `best_params.toml`, `top_k.csv`,
    /// `convergence.csv`, `convergence.png`.
    pub fn in_dir(dir: &Path) -> Self {
        OutputPaths {
            best: dir.join("best_params.toml"),
            top_k: dir.join("top_k.csv"),
            convergence_csv: dir.join("convergence.csv"),
            convergence_png: dir.join("convergence.png"),
        }
    }
}

/// Write the best parameters, the top-K table, and the convergence table and plot.
pub fn write_all(
    result: &CalibrationResult,
    space: &ParamSpace,
    metric_names: &[String],
    objective_name: &str,
    paths: &OutputPaths,
) -> Result<()> {
    write_outputs(result, space, metric_names, &paths.best, &paths.top_k)?;
    write_convergence_csv(result, &paths.convergence_csv)?;
    plot_convergence(result, objective_name, &paths.convergence_png)
}

/// CSV `evaluation,id,value,best,status` in proposal order (evaluation is 1-based).
pub fn write_convergence_csv(result: &CalibrationResult, path: &Path) -> Result<()> {
    let mut s = String::from("evaluation,id,value,best,status\n");
    for (i, (r, b)) in result.records.iter().zip(result.best_trace()).enumerate() {
        s.push_str(&format!(
            "{},{},{},{},{}\n",
            i + 1,
            r.id,
            r.evaluation.value,
            b,
            if r.evaluation.is_ok() { "ok" } else { "failed" }
        ));
    }
    write_atomic(path, s.as_bytes())
}

fn register_font() -> Result<()> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| {
        plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        )
        .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Other("could not load the DejaVu Sans font".into()))
    }
}

/// PNG of every successful evaluation's value (points) and the best value so
/// far (line) against the evaluation number. Written atomically.
pub fn plot_convergence(
    result: &CalibrationResult,
    objective_name: &str,
    path: &Path,
) -> Result<()> {
    use plotters::prelude::*;
    register_font()?;
    let pe = |e: &dyn std::fmt::Display| Error::Other(format!("{}: plotting: {e}", path.display()));
    let trace = result.best_trace();
    let pts: Vec<(f64, f64)> = result
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.evaluation.is_ok())
        .map(|(i, r)| ((i + 1) as f64, r.evaluation.value))
        .collect();
    // Best so far as a step line.
    let mut best: Vec<(f64, f64)> = Vec::new();
    for (i, v) in trace.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        let x = (i + 1) as f64;
        if let Some(&(_, prev)) = best.last() {
            best.push((x, prev));
        }
        best.push((x, *v));
    }
    let n = result.records.len().max(1) as f64;
    let (mut lo, mut hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    if hi - lo < 1e-12 {
        lo -= 0.5;
        hi += 0.5;
    }
    let pad = 0.05 * (hi - lo);
    let tmp = path.with_extension("tmp.png");
    {
        let root = BitMapBackend::new(&tmp, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| pe(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Calibration convergence: {objective_name}"),
                ("sans-serif", 22),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..n + 1.0, (lo - pad)..(hi + pad))
            .map_err(|e| pe(&e))?;
        chart
            .configure_mesh()
            .x_desc("evaluation")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(objective_name)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(|e| pe(&e))?;
        chart
            .draw_series(
                pts.iter()
                    .map(|&p| Circle::new(p, 3, BLUE.mix(0.5).filled())),
            )
            .map_err(|e| pe(&e))?
            .label("evaluation")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.mix(0.5).filled()));
        chart
            .draw_series(LineSeries::new(best.iter().copied(), RED.stroke_width(2)))
            .map_err(|e| pe(&e))?
            .label("best so far")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(|e| pe(&e))?;
        root.present().map_err(|e| pe(&e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::optimizer::OptimizerKind;
    use crate::calibrate::run::{calibrate, CalibrationOptions};
    use crate::calibrate::testfn::{TestFn, TestObjective};

    #[test]
    fn writes_every_product() {
        let dir = tempfile::tempdir().unwrap();
        let f = TestFn::Branin;
        let space = f.space().unwrap();
        let mut opt = OptimizerKind::Random.build(2, 30, 1).unwrap();
        let o = CalibrationOptions {
            budget: 30,
            q: 3,
            seed: 1,
            ..Default::default()
        };
        let res = calibrate(
            &TestObjective::new(f),
            &space,
            opt.as_mut(),
            &o,
            &dir.path().join("log.csv"),
            false,
        )
        .unwrap();
        let paths = OutputPaths::in_dir(dir.path());
        write_all(&res, &space, &[], "branin", &paths).unwrap();
        let conv = std::fs::read_to_string(&paths.convergence_csv).unwrap();
        assert_eq!(conv.lines().count(), 31);
        let last: Vec<&str> = conv.lines().last().unwrap().split(',').collect();
        assert_eq!(last[3].parse::<f64>().unwrap(), res.best_value().unwrap());
        let png = std::fs::read(&paths.convergence_png).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(paths.best.exists() && paths.top_k.exists());
        if let Ok(keep) = std::env::var("CALIMAP_KEEP_PLOT") {
            std::fs::copy(&paths.convergence_png, keep).unwrap();
        }
    }
}
