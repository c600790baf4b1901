//! The heat solver against analytic solutions: the Neumann two-phase freezing
//! front, the damped periodic surface wave and the steady geotherm.

use calimap::column::heat::{
    heat_step, BottomBoundary, BulkMedium, FixedTemperature, HeatSolverOptions, HeatWork,
    ThermalMedium,
};
use calimap::physics::thermal::PhaseState;

const TF: f64 = 273.15;

/// erf by its Maclaurin series (adequate to 1e-15 for |x| < 2).
fn erf(x: f64) -> f64 {
    let mut sum = 0.0;
    let mut term = x; // (-1)^n x^(2n+1) / n!
    let mut n = 0.0;
    loop {
        let add = term / (2.0 * n + 1.0);
        sum += add;
        if add.abs() < 1e-17 {
            break;
        }
        n += 1.0;
        term *= -x * x / n;
    }
    2.0 / std::f64::consts::PI.sqrt() * sum
}

/// The Neumann root: kf dTf e^{-l^2} / (erf(l) sqrt(pi af)) - kt dTt e^{-l^2 af/at}
/// / (erfc(l sqrt(af/at)) sqrt(pi at)) = L l sqrt(af), by bisection.
#[allow(clippy::too_many_arguments)]
fn neumann_lambda(kf: f64, cf: f64, kt: f64, ct: f64, l: f64, ts: f64, ti: f64) -> f64 {
    let (af, at) = (kf / cf, kt / ct);
    let pi = std::f64::consts::PI;
    let f = |lam: f64| {
        kf * (0.0 - ts) * (-lam * lam).exp() / (erf(lam) * (pi * af).sqrt())
            - kt * (ti - 0.0) * (-lam * lam * af / at).exp()
                / ((1.0 - erf(lam * (af / at).sqrt())) * (pi * at).sqrt())
            - l * lam * af.sqrt()
    };
    let (mut lo, mut hi) = (1e-6, 1.5);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Depth of the freezing front: the top of the first layer not fully frozen
/// plus the frozen part of that layer.
fn front_depth(states: &[PhaseState], dz: f64) -> f64 {
    for (i, s) in states.iter().enumerate() {
        if s.liq > 0.0 {
            return i as f64 * dz + (1.0 - s.liq) * dz;
        }
    }
    states.len() as f64 * dz
}

#[test]
fn neumann_two_phase_freezing_front() {
    let (kf, cf, kt, ct) = (2.0, 2.0e6, 1.5, 2.5e6);
    let latent = 0.3 * 1000.0 * 3.34e5;
    let (ts, ti) = (-10.0, 5.0);
    let lambda = neumann_lambda(kf, cf, kt, ct, latent, ts, ti);
    assert!((lambda - 0.27175).abs() < 5e-5, "lambda {lambda}");
    let front = |days: f64| 2.0 * lambda * (kf / cf * days * 86400.0).sqrt();
    assert!(
        (front(10.0) - 0.505).abs() < 1e-3,
        "X(10 d) {}",
        front(10.0)
    );
    assert!(
        (front(30.0) - 0.875).abs() < 1e-3,
        "X(30 d) {}",
        front(30.0)
    );
    assert!(
        (front(100.0) - 1.598).abs() < 1e-3,
        "X(100 d) {}",
        front(100.0)
    );

    let n = 500;
    let dz = 0.01;
    let medium = BulkMedium {
        n,
        c_frozen: cf,
        c_thawed: ct,
        k_frozen: kf,
        k_thawed: kt,
        latent,
        t_freeze: TF,
    };
    let dzs = vec![dz; n];
    let mut h: Vec<f64> = (0..n).map(|i| medium.enthalpy(i, TF + ti)).collect();
    let mut states = vec![
        PhaseState {
            t: TF + ti,
            liq: 1.0,
            dt_dh: 0.0
        };
        n
    ];
    let mut work = HeatWork::default();
    let opts = HeatSolverOptions::default();
    let dt = 900.0;
    let mut top = FixedTemperature {
        t: TF + ts,
        k_ext: f64::INFINITY,
    };
    let mut energy_in = 0.0;
    let e0: f64 = h.iter().map(|x| x * dz).sum();
    let mut t_now = 0.0;
    let mut checked = 0;
    for &(days, tol) in &[(10.0, 0.02), (30.0, 0.02), (100.0, 0.02)] {
        while t_now < days * 86400.0 - 1e-6 {
            let r = heat_step(
                &medium,
                &dzs,
                &mut h,
                &mut states,
                dt,
                &mut top,
                BottomBoundary::Flux { upward: 0.0 },
                &opts,
                &mut work,
            )
            .unwrap();
            energy_in += (r.top_flux - r.bottom_flux) * dt;
            t_now += dt;
        }
        let x = front_depth(&states, dz);
        let err = (x - front(days)).abs();
        println!(
            "day {days}: front {x:.4} m, analytic {:.4} m, error {err:.4} m",
            front(days)
        );
        assert!(
            err < tol,
            "day {days}: simulated {x}, analytic {}",
            front(days)
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
    let e1: f64 = h.iter().map(|x| x * dz).sum();
    let imbalance = (e1 - e0 - energy_in) / (100.0 * 86400.0);
    println!("energy imbalance {imbalance:e} W/m2");
    assert!(imbalance.abs() < 1e-6, "imbalance {imbalance} W m-2");
}

/// Least-squares amplitude and phase of a sinusoid of angular frequency w.
fn fit_sine(ts: &[f64], ys: &[f64], w: f64) -> (f64, f64) {
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let (mut s, mut c) = (0.0, 0.0);
    for (t, y) in ts.iter().zip(ys) {
        s += (y - mean) * (w * t).sin();
        c += (y - mean) * (w * t).cos();
    }
    let k = 2.0 / ys.len() as f64;
    let (a, b) = (s * k, c * k); // y ~ a sin + b cos = A sin(wt - phi)
    ((a * a + b * b).sqrt(), (-b).atan2(a))
}

#[test]
fn damped_periodic_surface_wave() {
    // Annual wave in unfrozen ground: k = 1.5, C = 2.5e6 => alpha = 6e-7 m2/s.
    let (k, c) = (1.5, 2.5e6);
    let period = 365.0 * 86400.0;
    let w = 2.0 * std::f64::consts::PI / period;
    let damping = (2.0 * k / c / w).sqrt();
    let n = 600;
    let dz = 0.05;
    let medium = BulkMedium {
        n,
        c_frozen: c,
        c_thawed: c,
        k_frozen: k,
        k_thawed: k,
        latent: 0.0,
        t_freeze: 0.0,
    };
    let dzs = vec![dz; n];
    let (tmean, amp) = (283.15, 8.0);
    let mut h: Vec<f64> = (0..n).map(|i| medium.enthalpy(i, tmean)).collect();
    let mut states = vec![
        PhaseState {
            t: tmean,
            liq: 1.0,
            dt_dh: 0.0
        };
        n
    ];
    let mut work = HeatWork::default();
    let opts = HeatSolverOptions::default();
    let dt = 6.0 * 3600.0;
    let steps_per_year = (period / dt).round() as usize;
    let years = 6;
    let probes = [10usize, 20, 40]; // midpoints 0.525, 1.025, 2.025 m
    let mut series: Vec<Vec<f64>> = vec![Vec::new(); probes.len()];
    let mut times = Vec::new();
    for s in 0..years * steps_per_year {
        let t_end = (s + 1) as f64 * dt;
        // Backward Euler: the boundary value at the end of the step.
        let mut top = FixedTemperature {
            t: tmean + amp * (w * t_end).sin(),
            k_ext: f64::INFINITY,
        };
        heat_step(
            &medium,
            &dzs,
            &mut h,
            &mut states,
            dt,
            &mut top,
            BottomBoundary::Flux { upward: 0.0 },
            &opts,
            &mut work,
        )
        .unwrap();
        if s >= (years - 1) * steps_per_year {
            times.push(t_end);
            for (j, &p) in probes.iter().enumerate() {
                series[j].push(states[p].t);
            }
        }
    }
    for (j, &p) in probes.iter().enumerate() {
        let z = (p as f64 + 0.5) * dz;
        let (a, phi) = fit_sine(&times, &series[j], w);
        let a_exact = amp * (-z / damping).exp();
        let lag_exact = z / damping;
        let lag = phi;
        println!("z {z:.3} m: amplitude {a:.4} (exact {a_exact:.4}), lag {lag:.4} rad (exact {lag_exact:.4})");
        assert!(
            (a - a_exact).abs() < 0.02 * a_exact,
            "z {z}: amplitude {a} vs {a_exact}"
        );
        assert!(
            (lag - lag_exact).abs() < 0.02 * lag_exact,
            "z {z}: lag {lag} vs {lag_exact}"
        );
    }
}

/// Layered conductivities under a fixed surface temperature and geothermal
/// flux: the steady profile is piecewise linear and the scheme reproduces it
/// exactly at the nodes.
#[test]
fn steady_geotherm_is_exact() {
    struct Layered {
        k: Vec<f64>,
    }
    impl ThermalMedium for Layered {
        fn len(&self) -> usize {
            self.k.len()
        }
        fn state(&self, _i: usize, h: f64) -> PhaseState {
            PhaseState {
                t: h / 2.0e6,
                liq: 1.0,
                dt_dh: 1.0 / 2.0e6,
            }
        }
        fn enthalpy(&self, _i: usize, t: f64) -> f64 {
            2.0e6 * t
        }
        fn conductivity(&self, i: usize, _s: &PhaseState) -> f64 {
            self.k[i]
        }
        fn max_dt_dh(&self, _i: usize) -> f64 {
            1.0 / 2.0e6
        }
    }
    let dz = vec![
        0.045, 0.046, 0.075, 0.123, 0.204, 0.336, 0.371, 0.3, 0.5, 0.5, 0.7, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 2.0, 2.0, 2.0,
    ];
    let k: Vec<f64> = (0..20).map(|i| 0.8 + 0.1 * (i % 7) as f64).collect();
    let m = Layered { k: k.clone() };
    let (ts, q) = (270.0, 0.06);
    // Exact nodal temperatures: T(z) = Ts + q * integral dz/k.
    let mut exact = Vec::new();
    let mut r = 0.0;
    for i in 0..20 {
        exact.push(ts + q * (r + 0.5 * dz[i] / k[i]));
        r += dz[i] / k[i];
    }
    let mut h: Vec<f64> = vec![m.enthalpy(0, 275.0); 20];
    let mut states = vec![
        PhaseState {
            t: 275.0,
            liq: 1.0,
            dt_dh: 0.0
        };
        20
    ];
    let mut work = HeatWork::default();
    let opts = HeatSolverOptions {
        tol: 1e-10,
        ..Default::default()
    };
    let mut top = FixedTemperature {
        t: ts,
        k_ext: f64::INFINITY,
    };
    // Very long steps converge to the steady state.
    for _ in 0..200 {
        heat_step(
            &m,
            &dz,
            &mut h,
            &mut states,
            1e9,
            &mut top,
            BottomBoundary::Flux { upward: q },
            &opts,
            &mut work,
        )
        .unwrap();
    }
    for i in 0..20 {
        assert!(
            (states[i].t - exact[i]).abs() < 1e-8,
            "layer {i}: {} vs {}",
            states[i].t,
            exact[i]
        );
    }
    // Started on the exact profile, a daily step leaves it unchanged.
    let mut h: Vec<f64> = exact.iter().map(|&t| m.enthalpy(0, t)).collect();
    let r = heat_step(
        &m,
        &dz,
        &mut h,
        &mut states,
        86400.0,
        &mut top,
        BottomBoundary::Flux { upward: q },
        &opts,
        &mut work,
    )
    .unwrap();
    for i in 0..20 {
        assert!((states[i].t - exact[i]).abs() < 1e-10);
    }
    assert!((r.top_flux + q).abs() < 1e-9, "surface flux {}", r.top_flux);
}
