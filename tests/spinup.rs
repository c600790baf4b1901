//! Spin-up of the Tanggula column: plain recycling against the accelerated
//! equilibrium start from a thawed column, the enthalpy criterion that sees
//! the zero curtain, and a spin-up of no cycles.

mod common;

use calimap::column::{
    spin_up, ColumnModel, InitialCondition, SpinupCriterion, SpinupOptions, SpinupStart,
};

/// Spin up to the tolerance and return the report and the layer temperatures.
fn spun_up(
    m: &ColumnModel,
    init: &InitialCondition,
    forcing: &calimap::forcing::PointForcing,
    start: SpinupStart,
) -> (calimap::column::SpinupReport, Vec<f64>) {
    let mut st = m.initial_state(init);
    let opts = SpinupOptions {
        years: 1,
        tol: 0.01,
        max_cycles: 400,
        start,
        criterion: SpinupCriterion::Temperature,
    };
    let r = spin_up(m, &mut st, forcing, &opts).unwrap();
    println!(
        "{start:?}: {} cycles = {:.1} years, residual {:.4} K, converged {}; T at 10-15 m {:.3} C",
        r.cycles,
        r.simulated_years,
        r.residual,
        r.converged,
        st.t_soil[14..].iter().sum::<f64>() / 6.0 - 273.15
    );
    assert!(r.converged, "{start:?} did not converge: {r:?}");
    assert!(r.residual < 0.01);
    // The reported residual is the last entry of the history.
    assert_eq!(*r.history.last().unwrap(), r.residual);
    (r, st.t_soil.clone())
}

fn largest_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn spinup_equilibrium_start_reaches_the_periodic_state_from_a_thawed_column() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let site = common::tanggula(&data);
    let m = ColumnModel::new(site.config.clone()).unwrap();
    // Reference: plain recycling from the site's measured profile.
    let (site_r, site_t) = spun_up(&m, &site.init, &site.forcing, SpinupStart::AsGiven);
    // Without a site profile (as in a gridded run): the whole column
    // thawed at 0.5 C with the site's water.
    let smc = match &site.init {
        InitialCondition::Profile { smc, .. } => smc.clone(),
        _ => unreachable!("the Tanggula site has a profile"),
    };
    let thawed = InitialCondition::Profile {
        t_soil: vec![273.65; smc.len()],
        smc,
        t_skin: 273.65,
        swe: 0.0,
        snow_depth: 0.0,
        canopy_water: 0.0,
        liquid: None,
    };
    let (acc_r, acc_t) = spun_up(&m, &thawed, &site.forcing, SpinupStart::Equilibrium);
    let diff = largest_difference(&site_t, &acc_t);
    println!(
        "accelerated start from the thawed column: {:.0} years, largest layer difference from the site spin-up ({:.0} years) {diff:.3} K",
        acc_r.simulated_years, site_r.simulated_years
    );
    assert!(diff < 0.5, "spun-up states differ by {diff} K");
    // Plain recycling from the thawed column stops in the zero curtain,
    // where the annual mean temperature barely moves while the ice grows:
    // that is what the accelerated start is for.
    let mut st = m.initial_state(&thawed);
    let plain = spin_up(
        &m,
        &mut st,
        &site.forcing,
        &SpinupOptions {
            years: 1,
            tol: 0.01,
            max_cycles: acc_r.cycles,
            start: SpinupStart::AsGiven,
            criterion: SpinupCriterion::Temperature,
        },
    )
    .unwrap();
    let plain_diff = largest_difference(&site_t, &st.t_soil);
    println!(
        "plain recycling from the thawed column: {} cycles, residual {:.4} K, largest layer difference {plain_diff:.3} K",
        plain.cycles, plain.residual
    );
    assert!(
        plain_diff > diff,
        "plain recycling ({plain_diff} K) is as close as the accelerated start ({diff} K)"
    );
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
            criterion: SpinupCriterion::Enthalpy,
        };
        let r = spin_up(&m, &mut st, &site.forcing, &opts).unwrap();
        assert_eq!(r.cycles, 0, "{start:?}");
        assert_eq!(r.simulated_years, 0.0);
        assert!(r.history.is_empty() && r.enthalpy_history.is_empty() && !r.converged);
        assert_eq!(st, before, "{start:?}: the state moved without a cycle");
    }
}

/// Plain recycling from a thawed column under the two criteria. The
/// temperature criterion stops while layers sit at 0 C and their ice still
/// grows (the zero curtain); the report's enthalpy residual shows it, and the
/// enthalpy criterion goes on until that has settled too, ending closer to
/// the state that a spin-up from the site's measured profile reaches.
#[test]
fn spinup_enthalpy_criterion_does_not_stop_in_the_zero_curtain() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let site = common::tanggula(&data);
    let m = ColumnModel::new(site.config.clone()).unwrap();
    let (_, site_t) = spun_up(&m, &site.init, &site.forcing, SpinupStart::AsGiven);
    let smc = match &site.init {
        InitialCondition::Profile { smc, .. } => smc.clone(),
        _ => unreachable!("the Tanggula site has a profile"),
    };
    let thawed = InitialCondition::Profile {
        t_soil: vec![273.65; smc.len()],
        smc,
        t_skin: 273.65,
        swe: 0.0,
        snow_depth: 0.0,
        canopy_water: 0.0,
        liquid: None,
    };
    let tol = 0.01;
    let run = |criterion| {
        let mut st = m.initial_state(&thawed);
        let opts = SpinupOptions {
            years: 1,
            tol,
            max_cycles: 2000,
            start: SpinupStart::AsGiven,
            criterion,
        };
        let r = spin_up(&m, &mut st, &site.forcing, &opts).unwrap();
        let diff = largest_difference(&site_t, &st.t_soil);
        println!(
            "{criterion:?}: {} cycles, temperature residual {:.4} K, enthalpy residual {:.4} K, \
             converged {}, largest layer difference from the site spin-up {diff:.3} K",
            r.cycles,
            r.history.last().unwrap(),
            r.enthalpy_residual(),
            r.converged
        );
        assert_eq!(r.history.len(), r.cycles);
        assert_eq!(r.enthalpy_history.len(), r.cycles);
        (r, diff)
    };
    let (by_t, diff_t) = run(SpinupCriterion::Temperature);
    assert!(by_t.converged, "{by_t:?}");
    assert_eq!(by_t.residual, *by_t.history.last().unwrap());
    assert!(
        by_t.enthalpy_residual() > tol,
        "the temperature criterion stopped with the enthalpy settled too ({} K): \
         no zero curtain left to test",
        by_t.enthalpy_residual()
    );
    let (by_h, diff_h) = run(SpinupCriterion::Enthalpy);
    assert!(by_h.converged, "{by_h:?}");
    assert!(by_h.residual < tol && by_h.enthalpy_residual() < tol);
    assert_eq!(
        by_h.residual,
        by_h.history.last().unwrap().max(by_h.enthalpy_residual())
    );
    assert!(
        by_h.cycles > by_t.cycles,
        "enthalpy criterion {} cycles, temperature criterion {}",
        by_h.cycles,
        by_t.cycles
    );
    assert!(
        diff_h < diff_t,
        "the enthalpy criterion ends {diff_h} K from the site spin-up, the temperature one {diff_t} K"
    );
}
