//! Noah's heat scheme (HRT/HSTEP with the SNKSRC phase change): the layer
//! mean temperature against numerical integration, the energy-limited phase
//! change case by case, conservation, the steady geotherm, and the Noah-style
//! column against the enthalpy scheme and a liquid deficit that must not melt ice.

use calimap::column::heat::{
    layer_mean_temperature, limited_phase_change, noah_heat_step, BottomBoundary, FixedTemperature,
    NoahColumn, NoahHeatWork,
};
use calimap::physics::thermal::{heat_capacity, L_VOL, T_FREEZE};

/// Mean over the layer of min(T, 0 C) along the two linear half-profiles
/// (or of T itself when no part is below 0 C), by the midpoint rule.
fn numeric_mean(tup: f64, tm: f64, tdn: f64, dz: f64) -> f64 {
    let n = 200_000;
    let any_frozen = tup < T_FREEZE || tm < T_FREEZE || tdn < T_FREEZE;
    let mut sum = 0.0;
    for k in 0..n {
        let z = (k as f64 + 0.5) / n as f64 * dz;
        let t = if z < 0.5 * dz {
            tup + (tm - tup) * z / (0.5 * dz)
        } else {
            tm + (tdn - tm) * (z - 0.5 * dz) / (0.5 * dz)
        };
        sum += if any_frozen { t.min(T_FREEZE) } else { t };
    }
    sum / n as f64
}

#[test]
fn layer_mean_temperature_is_the_mean_below_freezing() {
    let c = T_FREEZE;
    // Every sign pattern of (top face, node, bottom face) around 0 C.
    for (tup, tm, tdn) in [
        (c - 3.0, c - 2.0, c - 1.0),
        (c - 3.0, c - 1.0, c + 2.0),
        (c - 3.0, c + 1.0, c - 2.0),
        (c - 3.0, c + 1.0, c + 2.0),
        (c + 3.0, c - 1.0, c - 2.0),
        (c + 3.0, c - 1.0, c + 2.0),
        (c + 3.0, c + 1.0, c - 2.0),
        (c + 3.0, c + 1.0, c + 2.0),
    ] {
        for dz in [0.045, 1.0] {
            let got = layer_mean_temperature(tup, tm, tdn, dz);
            let want = numeric_mean(tup, tm, tdn, dz);
            assert!(
                (got - want).abs() < 1e-6,
                "({tup}, {tm}, {tdn}) dz {dz}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn phase_change_goes_toward_the_curve_only_as_far_as_the_heat_allows() {
    let (dz, dt) = (0.5, 86400.0);
    // Heat that would change the liquid by 0.01 m3 m-3.
    let q = 0.01 * L_VOL * dz / dt;
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    // Cooling with excess liquid: freezes by the heat, but not below the curve.
    assert!(close(
        limited_phase_change(0.20, 0.30, 0.10, -q, dz, dt),
        0.19
    ));
    assert!(close(
        limited_phase_change(0.20, 0.30, 0.195, -q, dz, dt),
        0.195
    ));
    // Cooling with a liquid deficit (below the curve): no melting.
    assert!(close(
        limited_phase_change(0.05, 0.30, 0.10, -q, dz, dt),
        0.05
    ));
    // Warming with a deficit: melts by the heat, not above the curve.
    assert!(close(
        limited_phase_change(0.05, 0.30, 0.10, q, dz, dt),
        0.06
    ));
    assert!(close(
        limited_phase_change(0.05, 0.30, 0.055, q, dz, dt),
        0.055
    ));
    // Warming with excess liquid: no freezing.
    assert!(close(
        limited_phase_change(0.20, 0.30, 0.10, q, dz, dt),
        0.20
    ));
    // Never beyond [0, smc].
    assert!(close(
        limited_phase_change(0.29, 0.30, 0.30, 10.0 * q, dz, dt),
        0.30
    ));
}

/// A 20-layer column of one soil with a Koren-like curve stand-in.
struct Col {
    dz: Vec<f64>,
    smc: Vec<f64>,
    por: f64,
    cs: f64,
}

impl Col {
    fn new() -> Self {
        Col {
            dz: calimap::column::DEFAULT_LAYERS.to_vec(),
            smc: vec![0.3; 20],
            por: 0.45,
            cs: 2.0e6,
        }
    }
    fn cap(&self, i: usize, liq: f64) -> f64 {
        heat_capacity(self.smc[i], liq, self.por, self.cs)
    }
    fn enthalpy(&self, i: usize, t: f64, liq: f64) -> f64 {
        self.cap(i, liq) * (t - T_FREEZE) - L_VOL * (self.smc[i] - liq)
    }
    /// One Noah step of this column with conductivities `k`, the top at a
    /// fixed temperature `t_top` (also the top face's start temperature).
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        k: &[f64],
        t_top: f64,
        t: &mut [f64],
        liq: &mut [f64],
        h: &mut [f64],
        bottom: BottomBoundary,
        work: &mut NoahHeatWork,
    ) -> calimap::column::heat::HeatStepReport {
        let n = self.dz.len();
        let cap: Vec<f64> = (0..n).map(|i| self.cap(i, liq[i])).collect();
        let c = NoahColumn {
            dz: &self.dz,
            smc: &self.smc,
            capacity: &cap,
            k_below: k,
            t_surface: t_top,
            k_top_half: 2.0 * k[0] / self.dz[0],
        };
        let mut top = FixedTemperature {
            t: t_top,
            k_ext: f64::INFINITY,
        };
        noah_heat_step(
            &c,
            t,
            liq,
            h,
            |i, tt, lo, hi| curve(self.smc[i], tt).clamp(lo, hi),
            |i, l| self.cap(i, l),
            86400.0,
            &mut top,
            bottom,
            work,
        )
        .unwrap()
    }
}

/// Liquid water on a smooth curve: all liquid above 0 C, falling to 0.05 at -5 C and below.
fn curve(smc: f64, t: f64) -> f64 {
    if t >= T_FREEZE {
        smc
    } else {
        let f = ((T_FREEZE - t) / 5.0).min(1.0);
        smc - (smc - 0.05) * f.sqrt()
    }
}

#[test]
fn noah_step_conserves_energy_and_keeps_a_steady_geotherm() {
    let col = Col::new();
    let n = col.dz.len();
    let k = vec![1.2; n];
    let mut work = NoahHeatWork::default();
    // Thawed column on a linear profile between a 5 C top face and a bottom
    // temperature on its extension: steady, no phase change.
    let mid: Vec<f64> = {
        let mut z = 0.0;
        col.dz
            .iter()
            .map(|d| {
                z += d;
                z - 0.5 * d
            })
            .collect()
    };
    let grad = -0.02; // K per m: cooling with depth, all above 0 C
    let t_top = T_FREEZE + 5.0;
    let mut t: Vec<f64> = mid.iter().map(|z| t_top + grad * z).collect();
    let mut liq = col.smc.clone();
    let mut h: Vec<f64> = (0..n).map(|i| col.enthalpy(i, t[i], liq[i])).collect();
    let distance = 10.0;
    let tb = t_top + grad * (mid[n - 1] + distance);
    let t0 = t.clone();
    let rep = col.step(
        &k,
        t_top,
        &mut t,
        &mut liq,
        &mut h,
        BottomBoundary::Temperature { t: tb, distance },
        &mut work,
    );
    let worst = t
        .iter()
        .zip(&t0)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-9, "steady geotherm moved by {worst} K");
    assert!((rep.top_flux - rep.bottom_flux).abs() < 1e-9);

    // Freezing from a cold top: energy change equals the boundary fluxes,
    // ice forms, and temperatures follow the enthalpies.
    let mut t: Vec<f64> = vec![T_FREEZE + 1.0; n];
    let mut liq = col.smc.clone();
    let mut h: Vec<f64> = (0..n).map(|i| col.enthalpy(i, t[i], liq[i])).collect();
    let mut ice_seen = false;
    for _ in 0..200 {
        let before: f64 = h.iter().zip(&col.dz).map(|(a, d)| a * d).sum();
        let dt = 86400.0;
        let rep = col.step(
            &k,
            T_FREEZE - 15.0,
            &mut t,
            &mut liq,
            &mut h,
            BottomBoundary::Flux { upward: 0.06 },
            &mut work,
        );
        let after: f64 = h.iter().zip(&col.dz).map(|(a, d)| a * d).sum();
        let imbalance = (after - before) / dt - (rep.top_flux - rep.bottom_flux);
        assert!(imbalance.abs() < 1e-9, "imbalance {imbalance} W m-2");
        for i in 0..n {
            assert!(liq[i] >= 0.0 && liq[i] <= col.smc[i]);
            let back = col.enthalpy(i, t[i], liq[i]);
            assert!((back - h[i]).abs() < 1e-6 * (1.0 + h[i].abs()));
        }
        ice_seen |= liq[0] < col.smc[0] - 0.01;
    }
    assert!(ice_seen, "the top layer never froze");
    assert!(
        t[0] < T_FREEZE - 1.0 && liq[0] < 0.2,
        "top layer {} K, liquid {}",
        t[0],
        liq[0]
    );
}

#[test]
fn noah_step_keeps_a_liquid_deficit_while_cooling() {
    // A frozen layer that lost liquid water (below its curve) and is cooled
    // from above neither melts ice nor warms: the deficit stays, as in
    // Noah's SNKSRC; the enthalpy scheme would melt ice at once.
    let col = Col::new();
    let n = col.dz.len();
    let k = vec![1.5; n];
    let t_start = T_FREEZE - 2.0;
    let mut t = vec![t_start; n];
    let eq = curve(col.smc[0], t_start);
    let mut liq: Vec<f64> = (0..n).map(|i| curve(col.smc[i], t_start)).collect();
    liq[6] = eq - 0.05;
    liq[15] = eq - 0.05;
    let mut h: Vec<f64> = (0..n).map(|i| col.enthalpy(i, t[i], liq[i])).collect();
    let mut work = NoahHeatWork::default();
    col.step(
        &k,
        T_FREEZE - 10.0,
        &mut t,
        &mut liq,
        &mut h,
        BottomBoundary::Flux { upward: 0.0 },
        &mut work,
    );
    // Layer 7 is reached by the cold (the phase change follows the explicit
    // heat of the step, which is zero there): it cools, its ice stays.
    assert!((liq[6] - (eq - 0.05)).abs() < 1e-12, "liquid {}", liq[6]);
    assert!(t[6] < t_start, "layer 7 at {} K", t[6]);
    // Layer 16, out of the cold's reach, keeps temperature and deficit.
    assert!((liq[15] - (eq - 0.05)).abs() < 1e-12, "liquid {}", liq[15]);
    assert!(
        (t[15] - t_start).abs() < 1e-6,
        "layer 16 moved to {} K",
        t[15]
    );
}
