//! Throughput of the column model: 20-layer column-steps per second on one
//! core over a synthetic plateau year at a given step length.

use std::time::Instant;

use chrono::NaiveDate;

use super::config::{ColumnConfig, DEFAULT_LAYERS};
use super::model::{ColumnModel, InitialCondition};
use super::tables::{GeneralParams, SoilTable, VegTable};
use crate::forcing::{ForcingStep, PointForcing};
use crate::Result;

/// A synthetic year of plateau-like forcing at step `dt` (s): seasonal and
/// diurnal cycles of air temperature and radiation, snow in winter, rain in
/// summer. Deterministic.
pub fn synthetic_year(dt: f64, start_year: i32) -> PointForcing {
    let n = (365.0 * 86400.0 / dt).round() as usize;
    let two_pi = 2.0 * std::f64::consts::PI;
    let steps = (0..n)
        .map(|i| {
            let day = i as f64 * dt / 86400.0;
            let season = (two_pi * (day - 110.0) / 365.0).sin();
            let diurnal = if dt < 86400.0 {
                (two_pi * (day.fract() - 0.25)).sin()
            } else {
                0.0
            };
            let t = 268.5 + 10.0 * season + 5.0 * diurnal;
            ForcingStep {
                t_air: t,
                q_air: (0.0025 + 0.002 * season).max(2e-4),
                p_air: 58000.0,
                wind: 4.0 - 1.0 * season,
                sw_down: (230.0 + 70.0 * season)
                    * (1.0 + if dt < 86400.0 { 2.0 * diurnal } else { 0.0 }).max(0.0),
                lw_down: 0.72 * 5.67e-8 * t.powi(4),
                precip: if (day as usize) % 5 == 0 {
                    2.5e-5 * (1.0 + season)
                } else {
                    0.0
                },
            }
        })
        .collect();
    PointForcing {
        source: format!("synthetic year, dt {dt} s"),
        start: NaiveDate::from_ymd_opt(start_year, 1, 1)
            .unwrap_or_default()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
        dt,
        steps,
        lat: 33.0,
        lon: 92.0,
        z_temp: 2.0,
        z_wind: 10.0,
    }
}

/// Result of [`column_throughput`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    /// Step length (s).
    pub dt: f64,
    /// Column-steps run.
    pub steps: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Mean iterations of the heat solver per step.
    pub heat_iterations: f64,
}

impl Throughput {
    /// Column-steps per second.
    pub fn steps_per_second(&self) -> f64 {
        self.steps as f64 / self.seconds
    }
    /// Microseconds per column-step.
    pub fn micros_per_step(&self) -> f64 {
        1e6 * self.seconds / self.steps as f64
    }
}

/// Time `years` synthetic years of a 20-layer Tanggula-like column (loam over
/// sandy loam, sand, gravel and bedrock; USGS class 9) at step `dt` on the
/// calling thread, after one untimed warm-up year.
pub fn column_throughput(
    soil: &SoilTable,
    veg: &VegTable,
    gen: &GeneralParams,
    dt: f64,
    years: usize,
) -> Result<Throughput> {
    let classes = [
        7, 7, 7, 7, 9, 7, 7, 7, 7, 7, 12, 12, 12, 13, 13, 13, 13, 13, 13, 14,
    ];
    let cfg = ColumnConfig::from_tables(soil, veg, gen, &DEFAULT_LAYERS, &classes, 9, 33.0, 272.4)?;
    let m = ColumnModel::new(cfg)?;
    let mut st = m.initial_state(&InitialCondition::Equilibrium {
        t_surface: 271.5,
        saturation: 0.5,
    });
    let f = synthetic_year(dt, 2001);
    for (i, s) in f.steps.iter().enumerate() {
        m.step(&mut st, s, dt, f.time(i))?;
    }
    let t0 = Instant::now();
    let mut steps = 0;
    let mut iterations = 0;
    for _ in 0..years.max(1) {
        for (i, s) in f.steps.iter().enumerate() {
            iterations += m.step(&mut st, s, dt, f.time(i))?.heat_iterations;
            steps += 1;
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    Ok(Throughput {
        dt,
        steps,
        seconds,
        heat_iterations: iterations as f64 / steps.max(1) as f64,
    })
}
