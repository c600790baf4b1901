//! Implicit (backward-Euler) finite-volume heat conduction with phase change,
//! conserving enthalpy exactly.
//!
//! Each layer's prognostic variable is its volumetric enthalpy H (J m-3,
//! [`crate::physics::thermal::enthalpy`]); temperature and liquid water are
//! recovered from H through the freeze curve. One step solves, for every layer i,
//!
//! ```text
//! dz_i (H_i - H_i^old) / dt = F_{i-1/2}(T) - F_{i+1/2}(T),   F = -k dT/dz,
//! ```
//!
//! with all fluxes at the new time, by Newton's method in H (Nedjar 2002,
//! Comput. Struct. 80, 9): each iteration linearises T(H) about the current
//! iterate and solves one tridiagonal system. After a first set of Newton
//! iterations the slope of T(H) is replaced by its upper bound (a monotone
//! chord iteration), which converges through the kinks of free-water freezing.
//! Finally every layer's enthalpy is set from the converged fluxes, so the
//! column's enthalpy change equals the boundary fluxes times dt to round-off
//! whatever the iteration tolerance; the states there follow from the last
//! iterate's, by one first-order Newton update where that lands within the
//! inversion tolerance ([`thermal::FreezeLayer::update_near`]), else by a
//! full inversion; the same first-order update serves the layers that moved
//! within an iteration. Each iteration visits the layers once (states, fluxes and
//! residuals together) on buffers sliced to the layer count. Interface conductances are the harmonic
//! means of the two half layers (series resistances); conductivities are
//! those of the state at the start of the step, as in Noah's HRT.

use std::sync::Arc;

use crate::physics::powtable::PowerTable;
use crate::physics::thermal::{
    self, CoarseConductivity, ConductivityScheme, FreezeCurve, PhaseState, RetentionParams,
    SoilKind,
};
use crate::physics::tridiag::solve_tridiagonal;
use crate::{Error, Result};

/// The thermal behaviour of the layers of a column.
pub trait ThermalMedium {
    /// Number of layers.
    fn len(&self) -> usize;
    /// Whether there are no layers.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Temperature, liquid water and dT/dH of layer `i` at enthalpy `h` (J m-3).
    fn state(&self, i: usize, h: f64) -> PhaseState;
    /// [`Self::state`] given a nearby state (e.g. the previous iterate) to start from.
    fn state_near(&self, i: usize, h: f64, _near: &PhaseState) -> PhaseState {
        self.state(i, h)
    }
    /// [`Self::state_near`] for an enthalpy `h` that differs from that of
    /// `near` by little, e.g. the last correction of an iteration: a medium
    /// may then update `near` to first order where that stays within its
    /// inversion tolerance.
    fn state_update(&self, i: usize, h: f64, near: &PhaseState) -> PhaseState {
        self.state_near(i, h, near)
    }
    /// Enthalpy (J m-3) of layer `i` at temperature `t` (K).
    fn enthalpy(&self, i: usize, t: f64) -> f64;
    /// Thermal conductivity (W m-1 K-1) of layer `i` in state `s`.
    fn conductivity(&self, i: usize, s: &PhaseState) -> f64;
    /// An upper bound of dT/dH (K m3 J-1) of layer `i`: the inverse of its smallest heat capacity.
    fn max_dt_dh(&self, i: usize) -> f64;
}

/// Heat flux through the top face of the column.
pub trait TopBoundary {
    /// The flux into the column (W m-2) when the top layer's node is at `t0`
    /// (K) and the conductance from the top face to that node is `k_half`
    /// (W m-2 K-1), and its derivative with respect to `t0` (W m-2 K-1, <= 0).
    fn flux(&mut self, t0: f64, k_half: f64) -> (f64, f64);
}

/// A prescribed temperature `t` (K) behind an extra conductance `k_ext`
/// (W m-2 K-1; infinite for a temperature at the top face).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedTemperature {
    /// Boundary temperature (K).
    pub t: f64,
    /// Conductance between the boundary temperature and the top face (W m-2 K-1).
    pub k_ext: f64,
}

impl TopBoundary for FixedTemperature {
    fn flux(&mut self, t0: f64, k_half: f64) -> (f64, f64) {
        let k = if self.k_ext.is_finite() {
            1.0 / (1.0 / self.k_ext + 1.0 / k_half)
        } else {
            k_half
        };
        (k * (self.t - t0), -k)
    }
}

/// The lower boundary of the column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BottomBoundary {
    /// Noah: a fixed temperature `t` (K) at `distance` (m) below the lowest
    /// node, connected by the lowest layer's conductivity.
    Temperature { t: f64, distance: f64 },
    /// A prescribed heat flux entering the column from below (W m-2, positive
    /// upward), e.g. the geothermal flux; zero for an insulated base.
    Flux { upward: f64 },
}

/// What one heat step did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HeatStepReport {
    /// Heat flux into the column through its top (W m-2), mean over the step.
    pub top_flux: f64,
    /// Heat flux leaving the column through its base (W m-2, positive downward).
    pub bottom_flux: f64,
    /// Iterations used.
    pub iterations: usize,
    /// Largest layer residual at the end (W m-2).
    pub residual: f64,
    /// Whether the residual fell below the tolerance.
    pub converged: bool,
}

/// Scratch space of the heat solver, reusable between steps.
#[derive(Clone, Debug, Default)]
pub struct HeatWork {
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    d: Vec<f64>,
    x: Vec<f64>,
    w: Vec<f64>,
    h_old: Vec<f64>,
    h_prev: Vec<f64>,
    t_prev: Vec<f64>,
    t: Vec<f64>,
    slope: Vec<f64>,
    kface: Vec<f64>,
    flux: Vec<f64>,
    h_state: Vec<f64>,
    h_skip: Vec<f64>,
}

impl HeatWork {
    fn resize(&mut self, n: usize) {
        for v in [
            &mut self.a,
            &mut self.b,
            &mut self.c,
            &mut self.d,
            &mut self.x,
            &mut self.w,
            &mut self.h_old,
            &mut self.h_prev,
            &mut self.t_prev,
            &mut self.t,
            &mut self.slope,
            &mut self.flux,
            &mut self.h_state,
            &mut self.h_skip,
        ] {
            v.resize(n, 0.0);
        }
        self.kface.resize(n + 1, 0.0);
    }
}

/// Settings of the heat solver.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeatSolverOptions {
    /// Largest layer residual accepted (W m-2).
    pub tol: f64,
    /// Maximum iterations.
    pub max_iter: usize,
    /// Newton iterations before switching to the monotone chord iteration.
    pub newton_iter: usize,
    /// Whether the `states` passed in are those of the enthalpies passed in
    /// (as left by the previous step): they are then used as they are.
    pub states_current: bool,
}

/// Largest enthalpy change (J m-3) for which a layer keeps its state between
/// iterations: the tolerance to which [`thermal::FreezeLayer::invert`] finds
/// the state, so a fresh inversion would be no closer (temperature within
/// about 5e-10 K). The solver lowers it per layer so that the temperature
/// left behind moves the layer's residual by less than a tenth of the
/// tolerance.
pub const STATE_REUSE_DH: f64 = 1e-3;

impl Default for HeatSolverOptions {
    fn default() -> Self {
        Self {
            tol: 1e-4,
            max_iter: 200,
            newton_iter: 12,
            states_current: false,
        }
    }
}

/// The checks both heat steps make of their arguments: layer arrays of one
/// (non-zero) length and a positive time step.
fn check_step(lengths_agree: bool, dt: f64) -> Result<()> {
    if !lengths_agree {
        return Err(Error::model(
            None,
            "heat step: layer arrays of different lengths",
        ));
    }
    if !(dt > 0.0) {
        return Err(Error::model(
            None,
            format!("heat step: time step {dt} s is not positive"),
        ));
    }
    Ok(())
}

/// Advance the layer enthalpies `h` (J m-3) of a column with thicknesses `dz`
/// (m) by one backward-Euler step of `dt` (s). `states` should hold the
/// layers' current states (they start the phase-change iterations; any values
/// are accepted); on return `h` holds the new enthalpies and `states` the new
/// temperatures and liquid water. The
/// enthalpy change sum(dz (H - H_old)) equals dt (top_flux - bottom_flux) to
/// round-off.
#[allow(clippy::too_many_arguments)]
pub fn heat_step<M: ThermalMedium + ?Sized>(
    medium: &M,
    dz: &[f64],
    h: &mut [f64],
    states: &mut [PhaseState],
    dt: f64,
    top: &mut dyn TopBoundary,
    bottom: BottomBoundary,
    opts: &HeatSolverOptions,
    work: &mut HeatWork,
) -> Result<HeatStepReport> {
    let n = medium.len();
    check_step(
        n > 0 && dz.len() == n && h.len() == n && states.len() == n,
        dt,
    )?;
    work.resize(n);
    // Every buffer sliced to the layer count once, so that the loops below
    // index without bounds checks.
    let HeatWork {
        a,
        b,
        c,
        d,
        x,
        w,
        h_old,
        h_prev,
        t_prev,
        t,
        slope,
        kface,
        flux,
        h_state,
        h_skip,
    } = work;
    let (a, b, c, d, x, w) = (
        &mut a[..n],
        &mut b[..n],
        &mut c[..n],
        &mut d[..n],
        &mut x[..n],
        &mut w[..n],
    );
    let (h_old, h_prev, t_prev, t, slope) = (
        &mut h_old[..n],
        &mut h_prev[..n],
        &mut t_prev[..n],
        &mut t[..n],
        &mut slope[..n],
    );
    let (kface, flux, h_state, h_skip) = (
        &mut kface[..n + 1],
        &mut flux[..n],
        &mut h_state[..n],
        &mut h_skip[..n],
    );
    let (dz, h, states) = (&dz[..n], &mut h[..n], &mut states[..n]);
    h_old.copy_from_slice(h);
    let mut report = HeatStepReport::default();
    let mut top_flux = 0.0;
    let mut top_dflux = 0.0;
    let mut top_dmax = 0.0f64;
    let mut bot_flux = 0.0;
    let mut bot_k;
    // Conductivities from the state at the start of the step (lagged, as in
    // Noah): the implicit system then has fixed coefficients and a monotone
    // T(H), so the iteration below has a unique solution to converge to.
    // The states at the start of the step serve both the conductivities and
    // the first iteration.
    for i in 0..n {
        let s = if opts.states_current {
            states[i]
        } else {
            medium.state_near(i, h[i], &states[i])
        };
        if !s.t.is_finite() {
            return Err(Error::model(
                None,
                format!("heat step: non-finite temperature in layer {}", i + 1),
            ));
        }
        states[i] = s;
        h_state[i] = h[i];
        kface[i] = medium.conductivity(i, &s);
    }
    let k_top_half = 2.0 * kface[0] / dz[0];
    let k_bottom_layer = kface[n - 1];
    let mut kprev = kface[0];
    for i in 1..n {
        let kcur = kface[i];
        kface[i] = 1.0 / (0.5 * dz[i - 1] / kprev + 0.5 * dz[i] / kcur);
        kprev = kcur;
    }
    // A temperature error e in layer i moves its residual by at most
    // e (conductances around it); the top layer's includes the skin's, bounded
    // here by 100 W m-2 K-1 beyond the half layer.
    for i in 0..n {
        let mut g = if i == 0 { k_top_half + 100.0 } else { kface[i] };
        g += if i + 1 < n {
            kface[i + 1]
        } else {
            k_bottom_layer / dz[i]
        };
        let e = 0.1 * opts.tol / (g * medium.max_dt_dh(i));
        h_skip[i] = if e.is_finite() {
            e.min(STATE_REUSE_DH)
        } else {
            0.0
        };
    }
    for iter in 0..=opts.max_iter {
        // One pass over the layers: the states at the current iterate (those
        // of the first were found above), the flux entering each layer from
        // above (flux[i]; the top one from the boundary) and the residual of
        // the layer above.
        let mut res_max = 0.0f64;
        for i in 0..n {
            if iter > 0 && (h[i] - h_state[i]).abs() > h_skip[i] {
                h_state[i] = h[i];
                let s = medium.state_update(i, h[i], &states[i]);
                if !s.t.is_finite() {
                    return Err(Error::model(
                        None,
                        format!("heat step: non-finite temperature in layer {}", i + 1),
                    ));
                }
                states[i] = s;
            }
            t[i] = states[i].t;
            slope[i] = states[i].dt_dh;
            if i == 0 {
                let (ft, dft) = top.flux(t[0], k_top_half);
                top_flux = ft;
                top_dflux = dft;
                flux[0] = ft;
            } else {
                flux[i] = kface[i] * (t[i - 1] - t[i]);
                let r = flux[i - 1] - flux[i] - dz[i - 1] * (h[i - 1] - h_old[i - 1]) / dt;
                d[i - 1] = r;
                res_max = res_max.max(r.abs());
            }
        }
        match bottom {
            BottomBoundary::Temperature { t: tb, distance } => {
                bot_k = k_bottom_layer / distance;
                bot_flux = bot_k * (t[n - 1] - tb);
            }
            BottomBoundary::Flux { upward } => {
                bot_k = 0.0;
                bot_flux = -upward;
            }
        }
        let r = flux[n - 1] - bot_flux - dz[n - 1] * (h[n - 1] - h_old[n - 1]) / dt;
        d[n - 1] = r;
        res_max = res_max.max(r.abs());
        report.iterations = iter;
        report.residual = res_max;
        if !res_max.is_finite() {
            return Err(Error::model(None, "heat step: non-finite residual"));
        }
        if res_max < opts.tol {
            report.converged = true;
            break;
        }
        if iter == opts.max_iter {
            break;
        }
        // Jacobian in H of the residual (negated), linearising T(H).
        // After the Newton phase, use the secant slope between the last two
        // iterates (bounded by the largest possible slope): this ends the
        // two-cycles Newton can fall into across the kinks of T(H).
        let chord = iter >= opts.newton_iter;
        if chord {
            for i in 0..n {
                let dh = h[i] - h_prev[i];
                let smax = medium.max_dt_dh(i);
                slope[i] = if dh.abs() > 1e-9 * (1.0 + h[i].abs()) {
                    ((t[i] - t_prev[i]) / dh).clamp(0.0, smax)
                } else {
                    slope[i].clamp(0.0, smax)
                };
            }
            // Largest conductance the boundary has shown: a monotone (damped) linearisation.
            top_dmax = top_dmax.max(-top_dflux);
        } else {
            top_dmax = -top_dflux;
        }
        if iter + 1 >= opts.newton_iter {
            // The chord iterations need the previous iterate.
            h_prev.copy_from_slice(h);
            t_prev.copy_from_slice(t);
        }
        for i in 0..n {
            let mut diag = dz[i] / dt;
            if i == 0 {
                diag += top_dmax * slope[0];
            } else {
                diag += kface[i] * slope[i];
                a[i] = -kface[i] * slope[i - 1];
            }
            if i + 1 < n {
                diag += kface[i + 1] * slope[i];
                c[i] = -kface[i + 1] * slope[i + 1];
            } else {
                diag += bot_k * slope[i];
                c[i] = 0.0;
            }
            b[i] = diag;
        }
        a[0] = 0.0;
        solve_tridiagonal(a, b, c, d, x, w)?;
        for i in 0..n {
            h[i] += x[i];
        }
    }
    // Enthalpy from the final fluxes: exact conservation.
    for i in 0..n {
        let out = if i + 1 < n { flux[i + 1] } else { bot_flux };
        h[i] = h_old[i] + dt * (flux[i] - out) / dz[i];
        if (h[i] - h_state[i]).abs() > h_skip[i] {
            states[i] = medium.state_update(i, h[i], &states[i]);
        }
    }
    report.top_flux = top_flux;
    report.bottom_flux = bot_flux;
    Ok(report)
}

/// A column of uniform bulk material with free-water phase change at
/// `t_freeze`: the medium of the Neumann and damped-wave tests.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkMedium {
    /// Number of layers.
    pub n: usize,
    /// Heat capacity of the frozen material (J m-3 K-1).
    pub c_frozen: f64,
    /// Heat capacity of the thawed material (J m-3 K-1).
    pub c_thawed: f64,
    /// Conductivity of the frozen material (W m-1 K-1).
    pub k_frozen: f64,
    /// Conductivity of the thawed material (W m-1 K-1).
    pub k_thawed: f64,
    /// Volumetric latent heat (J m-3).
    pub latent: f64,
    /// Phase-change temperature (K).
    pub t_freeze: f64,
}

impl ThermalMedium for BulkMedium {
    fn len(&self) -> usize {
        self.n
    }
    /// H = C_t (T - Tf) above Tf; C_f (T - Tf) - L below; liquid fraction in between.
    fn state(&self, _i: usize, h: f64) -> PhaseState {
        if h >= 0.0 {
            PhaseState {
                t: self.t_freeze + h / self.c_thawed,
                liq: 1.0,
                dt_dh: 1.0 / self.c_thawed,
            }
        } else if h <= -self.latent {
            PhaseState {
                t: self.t_freeze + (h + self.latent) / self.c_frozen,
                liq: 0.0,
                dt_dh: 1.0 / self.c_frozen,
            }
        } else {
            PhaseState {
                t: self.t_freeze,
                liq: 1.0 + h / self.latent,
                dt_dh: 0.0,
            }
        }
    }
    fn enthalpy(&self, _i: usize, t: f64) -> f64 {
        if t >= self.t_freeze {
            self.c_thawed * (t - self.t_freeze)
        } else {
            self.c_frozen * (t - self.t_freeze) - self.latent
        }
    }
    /// Frozen and thawed conductivities weighted by the liquid fraction.
    fn conductivity(&self, _i: usize, s: &PhaseState) -> f64 {
        self.k_frozen + s.liq * (self.k_thawed - self.k_frozen)
    }
    fn max_dt_dh(&self, _i: usize) -> f64 {
        1.0 / self.c_frozen.min(self.c_thawed)
    }
}

/// Thermal parameters of one soil layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoilLayerThermal {
    /// Retention parameters for the freeze curve.
    pub retention: RetentionParams,
    /// Quartz content (-).
    pub quartz: f64,
    /// Volumetric heat capacity of the solids (J m-3 K-1), Noah CSOIL.
    pub c_solid: f64,
    /// Conductivity treatment of the class.
    pub kind: SoilKind,
}

/// The soil column as a [`ThermalMedium`]: per-layer parameters plus the total
/// water content `smc` (m3 m-3) that is held fixed during a heat step.
/// Build it with [`SoilMedium::new`], which precomputes each layer's
/// enthalpy branches.
#[derive(Clone, Debug)]
pub struct SoilMedium<'a> {
    /// Precomputed enthalpy relation of each layer.
    pub freeze: Vec<thermal::FreezeLayer>,
    /// Per-layer parameters.
    pub layers: &'a [SoilLayerThermal],
    /// Total (liquid + ice) water per layer (m3 m-3).
    pub smc: &'a [f64],
    /// Freeze curve.
    pub curve: FreezeCurve,
    /// Conductivity scheme.
    pub scheme: ConductivityScheme,
    /// Gravel and bedrock coefficients.
    pub coarse: CoarseConductivity,
    /// Precomputed conductivity constants per layer (from `layers`, `scheme`
    /// and `coarse`); when absent the conductivity is evaluated from scratch.
    pub conductivity: Option<&'a [thermal::LayerConductivity]>,
    /// Tabulated freeze-curve powers liq^(-bx) per layer (Koren 1999), as
    /// given to [`Self::new_in`]; when absent the powers are evaluated exactly.
    pub powers: Option<&'a [Arc<PowerTable>]>,
}

impl<'a> SoilMedium<'a> {
    /// A medium for `layers` holding `smc` under the given schemes.
    pub fn new(
        layers: &'a [SoilLayerThermal],
        smc: &'a [f64],
        curve: FreezeCurve,
        scheme: ConductivityScheme,
        coarse: CoarseConductivity,
    ) -> Self {
        let freeze = layers
            .iter()
            .zip(smc)
            .map(|(l, &w)| thermal::FreezeLayer::new(curve, w, &l.retention, l.c_solid))
            .collect();
        Self {
            freeze,
            layers,
            smc,
            curve,
            scheme,
            coarse,
            conductivity: None,
            powers: None,
        }
    }

    /// [`Self::new`] reusing the storage of `buf`, e.g. the relations of a
    /// previous medium returned by [`Self::into_freeze`]: each layer whose
    /// inputs are unchanged keeps its relation, the others are rebuilt.
    /// With `powers` (one table per layer, of exponent -min(b, blim) for the
    /// Koren 1999 curve) the relations use the tabulated powers (see
    /// [`thermal::FreezeLayer::new_from_with`]); `buf` must then come from a
    /// medium built with the same tables.
    pub fn new_in(
        layers: &'a [SoilLayerThermal],
        smc: &'a [f64],
        curve: FreezeCurve,
        scheme: ConductivityScheme,
        coarse: CoarseConductivity,
        mut buf: Vec<thermal::FreezeLayer>,
        powers: Option<&'a [Arc<PowerTable>]>,
    ) -> Self {
        let n = layers.len().min(smc.len());
        let powers = powers.filter(|p| p.len() == layers.len());
        buf.truncate(n);
        for (i, (l, &w)) in layers.iter().zip(smc).enumerate() {
            let table = powers.map(|p| &*p[i]);
            if i < buf.len() {
                if !buf[i].built_from_with(curve, w, &l.retention, l.c_solid, table) {
                    buf[i] = thermal::FreezeLayer::new_from_with(
                        curve,
                        w,
                        &l.retention,
                        l.c_solid,
                        Some(&buf[i]),
                        table,
                    );
                }
            } else {
                buf.push(thermal::FreezeLayer::new_from_with(
                    curve,
                    w,
                    &l.retention,
                    l.c_solid,
                    None,
                    table,
                ));
            }
        }
        Self {
            freeze: buf,
            layers,
            smc,
            curve,
            scheme,
            coarse,
            conductivity: None,
            powers,
        }
    }

    /// [`Self::new_in`] for the same layers, curve, schemes and `powers` that
    /// built `buf` (e.g. this column's medium before its water step), at new
    /// water contents `smc`: each relation whose water changed is rebuilt by
    /// [`thermal::FreezeLayer::with_smc`] without comparing the other inputs.
    /// A `buf` of another length is rebuilt in full.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_in_same(
        layers: &'a [SoilLayerThermal],
        smc: &'a [f64],
        curve: FreezeCurve,
        scheme: ConductivityScheme,
        coarse: CoarseConductivity,
        mut buf: Vec<thermal::FreezeLayer>,
        powers: Option<&'a [Arc<PowerTable>]>,
    ) -> Self {
        let n = layers.len();
        if buf.len() != n || smc.len() != n {
            return Self::new_in(layers, smc, curve, scheme, coarse, buf, powers);
        }
        let powers = powers.filter(|p| p.len() == n);
        for (i, (f, &w)) in buf.iter_mut().zip(smc).enumerate() {
            if f.smc().to_bits() != w.to_bits() {
                *f = f.with_smc(w, powers.map(|p| &*p[i]));
            }
        }
        Self {
            freeze: buf,
            layers,
            smc,
            curve,
            scheme,
            coarse,
            conductivity: None,
            powers,
        }
    }

    /// The table of layer `i`, if any.
    #[inline]
    fn table(&self, i: usize) -> Option<&PowerTable> {
        self.powers.map(|p| &*p[i])
    }

    /// The per-layer freeze relations, for reuse by [`Self::new_in`].
    pub fn into_freeze(self) -> Vec<thermal::FreezeLayer> {
        self.freeze
    }

    /// Use the precomputed conductivity constants `k` (one per layer, built by
    /// [`thermal::LayerConductivity::new`] from the same layers and schemes).
    pub fn with_conductivity(mut self, k: &'a [thermal::LayerConductivity]) -> Self {
        if k.len() == self.layers.len() {
            self.conductivity = Some(k);
        }
        self
    }
}

impl ThermalMedium for SoilMedium<'_> {
    fn len(&self) -> usize {
        self.layers.len()
    }
    fn state(&self, i: usize, h: f64) -> PhaseState {
        self.freeze[i].invert_with(h, None, self.table(i))
    }
    fn state_near(&self, i: usize, h: f64, near: &PhaseState) -> PhaseState {
        self.freeze[i].invert_near_with(h, near, self.table(i))
    }
    fn state_update(&self, i: usize, h: f64, near: &PhaseState) -> PhaseState {
        self.freeze[i].update_near_with(h, near, self.table(i))
    }
    fn enthalpy(&self, i: usize, t: f64) -> f64 {
        let l = &self.layers[i];
        let liq = thermal::supercooled_liquid(self.curve, t, self.smc[i], &l.retention);
        thermal::enthalpy(t, self.smc[i], liq, l.retention.porosity, l.c_solid)
    }
    fn conductivity(&self, i: usize, s: &PhaseState) -> f64 {
        if let Some(k) = self.conductivity {
            return k[i].conductivity(self.smc[i], s.liq);
        }
        let l = &self.layers[i];
        thermal::thermal_conductivity(
            self.scheme,
            l.kind,
            &self.coarse,
            self.smc[i],
            s.liq,
            l.retention.porosity,
            l.quartz,
        )
    }
    fn max_dt_dh(&self, i: usize) -> f64 {
        1.0 / self.freeze[i].min_capacity()
    }
}

/// Scratch space of [`noah_heat_step`], reusable between steps.
#[derive(Clone, Debug, Default)]
pub struct NoahHeatWork {
    /// Face conductances (W m-2 K-1): entry j for the face above layer j
    /// (entry 0 unused).
    kface: Vec<f64>,
    /// The elimination x_i = p_i + q_i x_{i-1} of rows 1.. (entry 0 unused).
    p: Vec<f64>,
    q: Vec<f64>,
    /// Heat capacity after the phase change (J m-3 K-1).
    capacity: Vec<f64>,
    /// The geometry of the last column [`noah_heat_step`] was given.
    geometry: NoahGeometry,
}

impl NoahHeatWork {
    fn resize(&mut self, n: usize) {
        if self.kface.len() != n {
            for v in [
                &mut self.kface,
                &mut self.p,
                &mut self.q,
                &mut self.capacity,
            ] {
                v.resize(n, 0.0);
            }
        }
    }
}

/// The thickness-dependent factors of [`noah_heat_step`] for one column,
/// computed once.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct NoahGeometry {
    layers: Vec<NoahLayerGeometry>,
}

/// [`NoahGeometry`] of one layer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct NoahLayerGeometry {
    /// Thickness dz (m).
    dz: f64,
    /// L_VOL dz (J m-2 per m3 m-3 of water frozen).
    latent: f64,
    /// Distance 0.5 (dz_i + dz_{i+1}) to the node below (m; 0 for the last layer).
    spacing: f64,
    /// dz_i / (dz_i + dz_{i+1}): where the face below lies between the two
    /// nodes (0 for the last layer).
    frac: f64,
}

impl NoahGeometry {
    /// The geometry of layers of thicknesses `dz` (m), top down.
    pub fn new(dz: &[f64]) -> Self {
        let mut g = Self::default();
        g.set(dz);
        g
    }

    fn set(&mut self, dz: &[f64]) {
        self.layers.clear();
        self.layers.extend(dz.iter().enumerate().map(|(i, &d)| {
            let (spacing, frac) = match dz.get(i + 1) {
                Some(&below) => (0.5 * (d + below), d / (d + below)),
                None => (0.0, 0.0),
            };
            NoahLayerGeometry {
                dz: d,
                latent: thermal::L_VOL * d,
                spacing,
                frac,
            }
        }));
    }

    /// Number of layers.
    fn len(&self) -> usize {
        self.layers.len()
    }
}

/// The soil column as [`noah_heat_step`] sees it. Per-layer slices are top
/// down and of one length.
pub struct NoahColumn<'a> {
    /// Layer thicknesses (m).
    pub dz: &'a [f64],
    /// Total water (m3 m-3), fixed during the step.
    pub smc: &'a [f64],
    /// Heat capacity at the start of the step (J m-3 K-1), Noah HCPCT.
    pub capacity: &'a [f64],
    /// Conductivity (W m-1 K-1) of the face below each layer: Noah takes
    /// the upper layer's (the top layer's with the surface's snow and
    /// vegetation reduction, DF1); the last one connects to the lower boundary.
    pub k_below: &'a [f64],
    /// Temperature at the top face of the top layer at the start of the step
    /// (K), Noah TSURF: the skin temperature.
    pub t_surface: f64,
    /// Conductance (W m-2 K-1) from the top face to the top node, passed to
    /// the top boundary.
    pub k_top_half: f64,
}

/// Temperature (K) at the face between two nodes at `t_up` and `t_down`,
/// interpolated linearly at a fraction `frac` of the way (Noah TBND).
#[inline]
fn face_temperature(t_up: f64, t_down: f64, frac: f64) -> f64 {
    t_up + (t_down - t_up) * frac
}

/// Mean temperature (K) of a layer of thickness `dz` whose top face is at
/// `tup`, node at `tm` and bottom face at `tdn`, where the parts of the
/// layer on either side of 0 C are averaged separately along the two
/// linear profiles (Noah TMPAVG).
#[inline]
pub fn layer_mean_temperature(tup: f64, tm: f64, tdn: f64, dz: f64) -> f64 {
    let t0 = thermal::T_FREEZE;
    let (up, mid, dn) = (tup < t0, tm < t0, tdn < t0);
    if up == mid && mid == dn {
        // No part of the layer on the other side of 0 C.
        return (tup + 2.0 * tm + tdn) / 4.0;
    }
    let dzh = 0.5 * dz;
    if tup < t0 {
        if tm < t0 {
            if tdn < t0 {
                (tup + 2.0 * tm + tdn) / 4.0
            } else {
                let x0 = (t0 - tm) * dzh / (tdn - tm);
                0.5 * (tup * dzh + tm * (dzh + x0) + t0 * (2.0 * dzh - x0)) / dz
            }
        } else if tdn < t0 {
            let xup = (t0 - tup) * dzh / (tm - tup);
            let xdn = dzh - (t0 - tm) * dzh / (tdn - tm);
            0.5 * (tup * xup + t0 * (2.0 * dz - xup - xdn) + tdn * xdn) / dz
        } else {
            let xup = (t0 - tup) * dzh / (tm - tup);
            0.5 * (tup * xup + t0 * (2.0 * dz - xup)) / dz
        }
    } else if tm < t0 {
        let xup = dzh - (t0 - tup) * dzh / (tm - tup);
        if tdn < t0 {
            0.5 * (t0 * (dz - xup) + tm * (dzh + xup) + tdn * dzh) / dz
        } else {
            let xdn = (t0 - tm) * dzh / (tdn - tm);
            0.5 * (t0 * (2.0 * dz - xup - xdn) + tm * (xup + xdn)) / dz
        }
    } else if tdn < t0 {
        let xdn = dzh - (t0 - tm) * dzh / (tdn - tm);
        (t0 * (dz - xdn) + 0.5 * (t0 + tdn) * xdn) / dz
    } else {
        (tup + 2.0 * tm + tdn) / 4.0
    }
}

/// Liquid water (m3 m-3) after the phase change of one step (Noah SNKSRC):
/// the explicit conductive heat `qtot` (W m-2, positive into the layer) of a
/// layer of thickness `dz` holding `liq` liquid and `smc` total water moves
/// its liquid toward `free`, the freeze curve's liquid at the layer's mean
/// temperature, and no further: warming melts up to `free`, cooling freezes
/// down to it, and a layer on the other side of `free` keeps its liquid.
pub fn limited_phase_change(liq: f64, smc: f64, free: f64, qtot: f64, dz: f64, dt: f64) -> f64 {
    limited_phase_change_to(liq, smc, free, liq + qtot * dt / (thermal::L_VOL * dz))
}

/// [`limited_phase_change`] given `reach`, the liquid water the step's heat
/// alone would give (liq + qtot dt / (L_VOL dz)).
#[inline]
fn limited_phase_change_to(liq: f64, smc: f64, free: f64, reach: f64) -> f64 {
    // The smaller and the larger of `liq` and `free` (`free` where either
    // is NaN, so that the bounds below then pass `reach` through).
    let lo = if free > liq { liq } else { free };
    let hi = if free < liq { liq } else { free };
    let mut x = reach;
    if x < lo {
        x = lo;
    }
    if x > hi {
        x = hi;
    }
    x.clamp(0.0, smc)
}

/// One step of soil heat conduction with phase change as in Noah LSM 3.4.1
/// and Noah-Tibet (HRT, SNKSRC, HSTEP): the explicit conductive tendency of
/// each layer sets how much ice may form or melt toward the freeze curve's
/// liquid at the layer's mean temperature (`free(i, t, lo, hi)`: the curve's
/// liquid in m3 m-3 at temperature `t` clamped to [lo, hi], the range
/// between the layer's current liquid and where the step's heat alone
/// would take it, which is all the step needs of the curve), the latent
/// heat of that change enters as a source, and one implicit tridiagonal
/// solve in temperature gives the new temperatures; where the top boundary
/// is nonlinear (the skin energy balance) the solve is repeated with it
/// linearised about the new top-layer temperature until that settles
/// (`iterations` counts the linearisations). Unlike Noah, the layer enthalpies `h`
/// (J m-3) are then advanced by the fluxes of that solve, and the returned
/// temperatures `t` (K) are those of the new enthalpies and liquid water
/// `liq` (`capacity_at(i, liq)` the heat capacity there), so that
/// sum(dz (H - H_old)) equals dt (top_flux - bottom_flux) to round-off; they
/// differ from Noah's by the change of heat capacity with the phase change.
/// On entry `t`, `liq` and `h` must describe the same state.
#[allow(clippy::too_many_arguments)]
pub fn noah_heat_step<F, C>(
    col: &NoahColumn,
    t: &mut [f64],
    liq: &mut [f64],
    h: &mut [f64],
    free: F,
    capacity_at: C,
    dt: f64,
    top: &mut dyn TopBoundary,
    bottom: BottomBoundary,
    work: &mut NoahHeatWork,
) -> Result<HeatStepReport>
where
    F: Fn(usize, f64, f64, f64) -> f64,
    C: Fn(usize, f64) -> f64,
{
    let mut geometry = std::mem::take(&mut work.geometry);
    geometry.set(col.dz);
    let rep = noah_heat_step_with(
        col,
        &geometry,
        t,
        liq,
        h,
        free,
        capacity_at,
        false,
        dt,
        top,
        bottom,
        work,
    );
    work.geometry = geometry;
    rep
}

/// [`noah_heat_step`] with the column's [`NoahGeometry`] (that of
/// `col.dz`) given. With `capacity_current` the capacities `col.capacity`
/// are taken to be `capacity_at` of the liquid water on entry, and layers
/// whose liquid water the phase change leaves unchanged keep them.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(crate) fn noah_heat_step_with<F, C>(
    col: &NoahColumn,
    geometry: &NoahGeometry,
    t: &mut [f64],
    liq: &mut [f64],
    h: &mut [f64],
    free: F,
    capacity_at: C,
    capacity_current: bool,
    dt: f64,
    top: &mut dyn TopBoundary,
    bottom: BottomBoundary,
    work: &mut NoahHeatWork,
) -> Result<HeatStepReport>
where
    F: Fn(usize, f64, f64, f64) -> f64,
    C: Fn(usize, f64) -> f64,
{
    let n = col.dz.len();
    check_step(
        n > 0
            && [
                col.smc.len(),
                col.capacity.len(),
                col.k_below.len(),
                t.len(),
                liq.len(),
                h.len(),
                geometry.len(),
            ]
            .iter()
            .all(|&l| l == n),
        dt,
    )?;
    work.resize(n);
    let geo = &geometry.layers[..n];
    let (smc, cap0, k_below) = (&col.smc[..n], &col.capacity[..n], &col.k_below[..n]);
    let (t, liq, h) = (&mut t[..n], &mut liq[..n], &mut h[..n]);
    let kface = &mut work.kface[..n];
    let (p, q) = (&mut work.p[..n], &mut work.q[..n]);
    let cap1 = &mut work.capacity[..n];
    let t0 = thermal::T_FREEZE;
    let last = n - 1;
    let (t_bottom, bot_k, bot_frac) = match bottom {
        BottomBoundary::Temperature { t: tb, distance } => (
            tb,
            k_below[last] / distance,
            geo[last].dz / (2.0 * distance),
        ),
        BottomBoundary::Flux { .. } => (t[last], 0.0, 0.0),
    };
    let (g0, dg) = top.flux(t[0], col.k_top_half);
    // Explicit fluxes at the start of the step (positive downward), the
    // phase change they allow, and row i of
    //   C dz / dt dT = (F_i - F_{i+1})(T + dT) + source,
    // visited bottom up so that rows 1.. are eliminated upward on the way
    // (x_i = p_i + q_i x_{i-1}); the top boundary's part of row 0 is added
    // below.
    let flux_base = match bottom {
        BottomBoundary::Temperature { .. } => bot_k * (t[last] - t_bottom),
        BottomBoundary::Flux { upward } => -upward,
    };
    // Below the last row the face is the lower boundary's and there is no
    // row, so its (p, q) = (0, 0) adds nothing.
    let mut flux_dn = flux_base;
    let mut t_dn = face_temperature(t[last], t_bottom, bot_frac);
    let mut k_dn = bot_k;
    let (mut p_dn, mut q_dn) = (0.0, 0.0);
    let (mut b0, mut d0) = (0.0, 0.0);
    for i in (0..n).rev() {
        let g = &geo[i];
        let ti = t[i];
        // Face i (above layer i): conductance, explicit flux, temperature.
        let (k_up, flux_up, t_up) = if i > 0 {
            let above = &geo[i - 1];
            let k = k_below[i - 1] / above.spacing;
            (
                k,
                k * (t[i - 1] - ti),
                face_temperature(t[i - 1], ti, above.frac),
            )
        } else {
            (0.0, g0, col.t_surface)
        };
        kface[i] = k_up;
        let qtot = flux_up - flux_dn;
        let mut source = 0.0;
        let li = liq[i];
        let wi = smc[i];
        let mut cap = cap0[i];
        if wi - li > 0.0 || ti < t0 || t_up < t0 || t_dn < t0 {
            let tavg = layer_mean_temperature(t_up, ti, t_dn, g.dz);
            // Where the step's heat alone would take the liquid: the curve
            // matters only between that and the current liquid.
            let reach = li + qtot * dt / g.latent;
            let f = free(i, tavg, reach.min(li), reach.max(li));
            let xl = limited_phase_change_to(li, wi, f, reach);
            source = -g.latent * (xl - li) / dt;
            liq[i] = xl;
            if !capacity_current || xl.to_bits() != li.to_bits() {
                cap = capacity_at(i, xl);
            }
        } else if !capacity_current {
            cap = capacity_at(i, li);
        }
        cap1[i] = cap;
        // Row i: diagonal C dz / dt + k_up + k_dn, less what eliminating the
        // row below takes (k_dn q_dn); right-hand side qtot + source, plus
        // k_dn p_dn.
        let m = cap0[i] * g.dz / dt + k_up + k_dn - k_dn * q_dn;
        let d = qtot + source;
        if i > 0 {
            if !(m > 0.0) {
                return Err(Error::model(None, "heat step: singular tridiagonal system"));
            }
            p_dn = (d + k_dn * p_dn) / m;
            q_dn = k_up / m;
            p[i] = p_dn;
            q[i] = q_dn;
        } else {
            (b0, d0) = (m, d - g0 + k_dn * p_dn);
        }
        flux_dn = flux_up;
        t_dn = t_up;
        k_dn = k_up;
    }
    // The top boundary, linearised about the latest top-layer temperature
    // and solved again until that temperature settles (Newton on the skin
    // balance; Noah linearises once): the flux through the top face is then
    // the skin's at the new temperature. Each linearisation costs one scalar
    // equation for x_0.
    let (mut g, mut dgv, mut at) = (g0, dg, t[0]);
    let mut solves = 0;
    let mut x0;
    loop {
        x0 = (d0 + g + dgv * (t[0] - at)) / (b0 - dgv);
        solves += 1;
        let t_new = t[0] + x0;
        if (t_new - at).abs() < 1e-9 || solves >= 50 {
            break;
        }
        at = t_new;
        (g, dgv) = top.flux(at, col.k_top_half);
    }
    if !x0.is_finite() {
        return Err(Error::model(None, "heat step: non-finite top-layer change"));
    }
    // Back substitution, the fluxes of the solve, and the enthalpies they
    // carry, top down.
    let top_flux = g + dgv * (t[0] + x0 - at);
    let mut flux_up = top_flux;
    let mut xi = x0;
    for i in 0..n {
        let ti = t[i];
        let flux_dn = if i < last {
            let x_dn = p[i + 1] + q[i + 1] * xi;
            let f = kface[i + 1] * (ti + xi - t[i + 1] - x_dn);
            xi = x_dn;
            f
        } else {
            match bottom {
                BottomBoundary::Temperature { .. } => bot_k * (ti + xi - t_bottom),
                BottomBoundary::Flux { .. } => flux_base,
            }
        };
        h[i] += dt * (flux_up - flux_dn) / geo[i].dz;
        flux_up = flux_dn;
        t[i] = t0 + (h[i] + thermal::L_VOL * (smc[i] - liq[i])) / cap1[i];
        if !t[i].is_finite() {
            return Err(Error::model(
                None,
                format!("heat step: non-finite temperature in layer {}", i + 1),
            ));
        }
    }
    Ok(HeatStepReport {
        top_flux,
        bottom_flux: flux_up,
        iterations: solves,
        residual: 0.0,
        converged: true,
    })
}
