//! Transient runs and spin-up of a column over point forcing.

use chrono::{Datelike, NaiveDateTime};

use super::model::{ColumnModel, ColumnState, InitialCondition, StepFluxes};
use crate::diagnostics::{AnnualProfileStats, YearAccumulator};
use crate::forcing::PointForcing;
use crate::physics::thermal::T_FREEZE;
use crate::{Error, Result};

/// How the spin-up starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SpinupStart {
    /// From the state as given.
    AsGiven,
    /// Accelerated: one cycle from the state as given, then the whole column is
    /// reset to the equilibrium estimate: the cycle's mean annual temperature
    /// of the top layer (a TTOP-style surface estimate that includes the snow
    /// and thermal offsets) extended down along the steady geotherm of the
    /// lower boundary, with ice where it is below 0 C, keeping the water.
    Equilibrium,
}

/// What the spin-up tolerance is applied to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpinupCriterion {
    /// The largest change of any layer's cycle-mean temperature.
    #[default]
    Temperature,
    /// The larger of that and the largest change of any layer's cycle-mean
    /// enthalpy expressed in kelvin (enthalpy over the layer's thawed heat
    /// capacity, see [`ColumnModel::thaw_equivalent_celsius`]): a layer held
    /// at 0 C while its ice melts or grows (the zero curtain) keeps changing
    /// by the latent heat, so it does not count as settled.
    Enthalpy,
}

/// Spin-up settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpinupOptions {
    /// Number of years of forcing to recycle, from its start (0: all whole years).
    pub years: usize,
    /// Tolerance on the largest change of any layer's mean temperature between cycles (K).
    pub tol: f64,
    /// Maximum number of cycles; 0 runs none (the transient run starts from
    /// the initial state, as a Noah driver with `loop_for_a_while = 0`).
    pub max_cycles: usize,
    /// How to start.
    pub start: SpinupStart,
    /// What `tol` is applied to.
    pub criterion: SpinupCriterion,
}

impl Default for SpinupOptions {
    fn default() -> Self {
        Self {
            years: 1,
            tol: 0.01,
            max_cycles: 500,
            start: SpinupStart::Equilibrium,
            criterion: SpinupCriterion::Temperature,
        }
    }
}

/// What a spin-up did.
#[derive(Clone, Debug, PartialEq)]
pub struct SpinupReport {
    /// Cycles run.
    pub cycles: usize,
    /// Years of forcing in one cycle.
    pub cycle_years: f64,
    /// Simulated years in total.
    pub simulated_years: f64,
    /// The criterion's residual in the last cycle (K): the largest change
    /// of any layer's cycle-mean temperature, under
    /// [`SpinupCriterion::Enthalpy`] the larger of that and the enthalpy
    /// residual.
    pub residual: f64,
    /// Whether the residual fell below the tolerance.
    pub converged: bool,
    /// Largest change of any layer's cycle-mean temperature after each cycle
    /// (K); NaN for the first (and the reset cycle of an equilibrium start).
    pub history: Vec<f64>,
    /// Largest change of any layer's cycle-mean enthalpy in kelvin (see
    /// [`SpinupCriterion::Enthalpy`]) after each cycle, whatever the
    /// criterion; NaN where `history` is.
    pub enthalpy_history: Vec<f64>,
}

impl SpinupReport {
    /// The enthalpy residual of the last cycle (K); NaN without one.
    pub fn enthalpy_residual(&self) -> f64 {
        self.enthalpy_history.last().copied().unwrap_or(f64::NAN)
    }
}

/// Number of steps in the first `years` calendar years of the forcing (all
/// whole years when 0; at least one year's worth must exist).
fn cycle_steps(forcing: &PointForcing, years: usize) -> Result<usize> {
    let n = forcing.steps.len();
    if n == 0 {
        return Err(Error::Forcing {
            source_name: forcing.source.clone(),
            variable: "steps".into(),
            message: "no forcing steps".into(),
        });
    }
    let span_years = (n as f64 * forcing.dt) / (365.25 * 86400.0);
    let years = if years == 0 {
        span_years.floor().max(1.0) as usize
    } else {
        years
    };
    let start = forcing.start;
    let end = start
        .with_year(start.year() + years as i32)
        .unwrap_or(start + chrono::Duration::days(365 * years as i64));
    let steps = ((end - start).num_seconds() as f64 / forcing.dt).round() as usize;
    if steps > n {
        return Err(Error::Forcing {
            source_name: forcing.source.clone(),
            variable: "steps".into(),
            message: format!(
                "spin-up asks for {years} years but the forcing covers {span_years:.2}"
            ),
        });
    }
    Ok(steps)
}

/// Time means of one cycle, per layer.
struct CycleMeans {
    /// Temperature (K).
    t: Vec<f64>,
    /// Enthalpy over the thawed heat capacity (K).
    h: Vec<f64>,
}

/// Largest absolute difference between two equally long profiles.
fn largest_change(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Run `steps` forcing steps once, returning the time means of each layer.
fn one_cycle(
    m: &ColumnModel,
    st: &mut ColumnState,
    forcing: &PointForcing,
    steps: usize,
) -> Result<CycleMeans> {
    let n = st.t_soil.len();
    let mut sum = vec![0.0; n];
    let mut sum_h = vec![0.0; n];
    let mut h = vec![0.0; n];
    for i in 0..steps {
        m.step(st, &forcing.steps[i], forcing.dt, forcing.time(i))
            .map_err(|e| {
                Error::model(
                    Some(forcing.source.clone()),
                    format!("spin-up step {i}: {e}"),
                )
            })?;
        for (s, t) in sum.iter_mut().zip(&st.t_soil) {
            *s += t;
        }
        m.thaw_equivalent_celsius(st, &mut h);
        for (s, x) in sum_h.iter_mut().zip(&h) {
            *s += x;
        }
    }
    let mean = |v: Vec<f64>| v.into_iter().map(|s| s / steps as f64).collect();
    Ok(CycleMeans {
        t: mean(sum),
        h: mean(sum_h),
    })
}

/// Spin up: recycle the first `opts.years` years of forcing until the largest
/// change of any layer's cycle-mean temperature between cycles (with
/// [`SpinupCriterion::Enthalpy`] also of its cycle-mean enthalpy) is below
/// `opts.tol`, or `opts.max_cycles` cycles have run.
pub fn spin_up(
    m: &ColumnModel,
    st: &mut ColumnState,
    forcing: &PointForcing,
    opts: &SpinupOptions,
) -> Result<SpinupReport> {
    let steps = cycle_steps(forcing, opts.years)?;
    let cycle_years = steps as f64 * forcing.dt / (365.25 * 86400.0);
    if opts.max_cycles == 0 {
        return Ok(SpinupReport {
            cycles: 0,
            cycle_years,
            simulated_years: 0.0,
            residual: f64::NAN,
            converged: false,
            history: Vec::new(),
            enthalpy_history: Vec::new(),
        });
    }
    let mut history = Vec::new();
    let mut enthalpy_history = Vec::new();
    let mut prev = one_cycle(m, st, forcing, steps)?;
    let mut cycles = 1;
    history.push(f64::NAN);
    enthalpy_history.push(f64::NAN);
    if opts.start == SpinupStart::Equilibrium {
        let t_surface = prev.t[0];
        let smc = st.smc.clone();
        let init = InitialCondition::Profile {
            t_soil: m.geotherm(t_surface, &smc),
            smc,
            t_skin: st.t_skin,
            swe: st.swe,
            snow_depth: st.snow_depth,
            canopy_water: st.canopy_water,
            liquid: None,
        };
        let snow = (st.snow_density, st.snow_age);
        *st = m.initial_state(&init);
        st.snow_density = snow.0;
        st.snow_age = snow.1;
        prev = one_cycle(m, st, forcing, steps)?;
        cycles += 1;
        history.push(f64::NAN);
        enthalpy_history.push(f64::NAN);
    }
    let mut residual = f64::INFINITY;
    while cycles < opts.max_cycles {
        let cur = one_cycle(m, st, forcing, steps)?;
        cycles += 1;
        let dt = largest_change(&cur.t, &prev.t);
        let dh = largest_change(&cur.h, &prev.h);
        history.push(dt);
        enthalpy_history.push(dh);
        residual = match opts.criterion {
            SpinupCriterion::Temperature => dt,
            SpinupCriterion::Enthalpy => dt.max(dh),
        };
        prev = cur;
        if residual < opts.tol {
            break;
        }
    }
    Ok(SpinupReport {
        cycles,
        cycle_years,
        simulated_years: cycles as f64 * cycle_years,
        residual,
        converged: residual < opts.tol,
        history,
        enthalpy_history,
    })
}

/// Transient run over the whole forcing; calls `on_step` after each step (for
/// daily output) and returns the annual temperature statistics of each
/// calendar year (a partial first or last year included, with its seconds).
pub fn run(
    m: &ColumnModel,
    st: &mut ColumnState,
    forcing: &PointForcing,
    on_step: &mut dyn FnMut(NaiveDateTime, &ColumnState, &StepFluxes),
) -> Result<Vec<AnnualProfileStats>> {
    let depths = m.layer_midpoints();
    let mut years = Vec::new();
    let mut acc: Option<YearAccumulator> = None;
    let mut temps = vec![0.0; depths.len()];
    let mut thaw = vec![0.0; depths.len()];
    for (i, f) in forcing.steps.iter().enumerate() {
        let t = forcing.time(i);
        let fl = m.step(st, f, forcing.dt, t).map_err(|e| {
            Error::model(
                Some(forcing.source.clone()),
                format!("step {i} at {t}: {e}"),
            )
        })?;
        on_step(t, st, &fl);
        let year = t.year();
        if acc.as_ref().map(|a| a.year()) != Some(year) {
            if let Some(done) = acc.take().and_then(|a| a.finish()) {
                years.push(done);
            }
            acc = Some(YearAccumulator::new(year, &depths));
        }
        for (x, tk) in temps.iter_mut().zip(&st.t_soil) {
            *x = tk - T_FREEZE;
        }
        m.thaw_equivalent_celsius(st, &mut thaw);
        if let Some(a) = acc.as_mut() {
            a.add(&temps, forcing.dt);
            a.add_thaw_equivalent(&thaw);
        }
    }
    if let Some(done) = acc.and_then(|a| a.finish()) {
        years.push(done);
    }
    Ok(years)
}
