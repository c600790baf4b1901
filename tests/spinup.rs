//! Spin-up of the Tanggula column: plain recycling against the accelerated
//! equilibrium start, and the transient run's annual statistics.

mod common;

use calimap::column::{spin_up, ColumnModel, SpinupOptions, SpinupStart};

#[test]
fn spinup_equilibrium_start_needs_fewer_years() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let site = common::tanggula(&data);
    let m = ColumnModel::new(site.config.clone()).unwrap();
    let mut reports = Vec::new();
    for start in [SpinupStart::AsGiven, SpinupStart::Equilibrium] {
        let mut st = m.initial_state(&site.init);
        let opts = SpinupOptions {
            years: 1,
            tol: 0.01,
            max_cycles: 400,
            start,
        };
        let r = spin_up(&m, &mut st, &site.forcing, &opts).unwrap();
        println!(
            "{start:?}: {} cycles = {:.1} years, residual {:.4} K, converged {}; deep T {:.3} C",
            r.cycles,
            r.simulated_years,
            r.residual,
            r.converged,
            st.t_soil[19] - 273.15
        );
        assert!(r.converged, "{start:?} did not converge: {r:?}");
        assert!(r.residual < 0.01);
        // The reported residual is the last entry of the history.
        assert_eq!(*r.history.last().unwrap(), r.residual);
        reports.push((r, st.t_soil.clone()));
    }
    let (plain, acc) = (&reports[0], &reports[1]);
    assert!(
        acc.0.simulated_years < plain.0.simulated_years,
        "accelerated {} vs plain {} years",
        acc.0.simulated_years,
        plain.0.simulated_years
    );
    // Both reach the same periodic state (within the tolerance accumulated over the approach).
    let diff = plain
        .1
        .iter()
        .zip(&acc.1)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("largest layer difference between the two spun-up states: {diff:.3} K");
    assert!(diff < 0.5, "spun-up states differ by {diff} K");
}

#[test]
fn spinup_with_no_cycles_leaves_the_initial_state() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let site = common::tanggula(&data);
    let m = ColumnModel::new(site.config.clone()).unwrap();
    let mut st = m.initial_state(&site.init);
    let before = st.clone();
    for start in [SpinupStart::AsGiven, SpinupStart::Equilibrium] {
        let opts = SpinupOptions {
            years: 1,
            tol: 0.01,
            max_cycles: 0,
            start,
        };
        let r = spin_up(&m, &mut st, &site.forcing, &opts).unwrap();
        assert_eq!(r.cycles, 0, "{start:?}");
        assert_eq!(r.simulated_years, 0.0);
        assert!(r.history.is_empty() && !r.converged);
        assert_eq!(st, before, "{start:?}: the state moved without a cycle");
    }
}
