//! Rain on a melting snowpack: under Noah's heat scheme a skin held at 0 C
//! by melt does not turn the next step's rain into freezing rain (Noah's
//! melt-day skin temperature lies above 0 C); under the enthalpy scheme the
//! skin at 0 C freezes it onto the pack.

mod common;

use calimap::column::config::HeatScheme;
use calimap::column::{ColumnModel, InitialCondition};
use calimap::forcing::ForcingStep;

#[test]
fn rain_after_a_melt_step_stays_rain_under_noahs_scheme() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let site = common::tanggula(&data);
    let smc = match &site.init {
        InitialCondition::Profile { smc, .. } => smc.clone(),
        _ => unreachable!("the Tanggula site has a profile"),
    };
    let start = chrono::NaiveDate::from_ymd_opt(2008, 5, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let dt = 86400.0;
    let warm = ForcingStep {
        t_air: 276.0,
        q_air: 0.004,
        p_air: 58000.0,
        wind: 3.0,
        sw_down: 300.0,
        lw_down: 300.0,
        precip: 0.0,
    };
    let rain = ForcingStep {
        precip: 1e-4, // 8.6 mm in the day
        ..warm
    };
    let mut gained = Vec::new();
    for scheme in [HeatScheme::Noah, HeatScheme::Enthalpy] {
        let mut cfg = site.config.clone();
        cfg.options.heat_scheme = scheme;
        let m = ColumnModel::new(cfg).unwrap();
        let mut st = m.initial_state(&InitialCondition::Profile {
            t_soil: vec![272.0; smc.len()],
            smc: smc.clone(),
            t_skin: 272.0,
            swe: 30.0,
            snow_depth: 0.15,
            canopy_water: 0.0,
            liquid: None,
        });
        let f = m.step(&mut st, &warm, dt, start).unwrap();
        assert!(f.melt_heat > 0.0 && st.swe > 5.0, "{scheme:?}: no melt");
        assert!(st.skin_melting, "{scheme:?}");
        let before = st.swe;
        let f = m
            .step(&mut st, &rain, dt, start + chrono::Duration::days(1))
            .unwrap();
        gained.push((scheme, f.snowfall, st.swe - before));
    }
    println!("{gained:?}");
    let (_, noah_snowfall, _) = gained[0];
    let (_, enthalpy_snowfall, _) = gained[1];
    assert_eq!(noah_snowfall, 0.0, "Noah scheme froze the rain");
    assert!(
        enthalpy_snowfall > 0.0,
        "enthalpy scheme: rain on a 0 C skin was not frozen"
    );
}
