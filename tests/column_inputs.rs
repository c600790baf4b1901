//! The column's configuration and forcing checks, using the model tables
//! shipped in models/noah-tibet, and a synthetic-forcing year.

use std::path::PathBuf;

use calimap::column::tables::{read_toml, GeneralParams, SoilTable, VegTable};
use calimap::column::{ColumnConfig, ColumnModel, InitialCondition, DEFAULT_LAYERS};
use calimap::forcing::{ForcingStep, PointForcing};
use chrono::NaiveDate;

fn tables() -> (SoilTable, VegTable, GeneralParams) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/noah-tibet");
    (
        read_toml(&dir.join("soil.toml")).unwrap(),
        read_toml(&dir.join("vegetation.toml")).unwrap(),
        read_toml(&dir.join("general.toml")).unwrap(),
    )
}

fn config(classes: &[usize]) -> calimap::Result<ColumnConfig> {
    let (s, v, g) = tables();
    ColumnConfig::from_tables(&s, &v, &g, &DEFAULT_LAYERS, classes, 9, 33.0, 272.4)
}

fn tanggula_classes() -> Vec<usize> {
    vec![
        7, 7, 7, 7, 9, 7, 7, 7, 7, 7, 12, 12, 12, 13, 13, 13, 13, 13, 13, 14,
    ]
}

#[test]
fn unknown_soil_class_is_named() {
    let mut c = tanggula_classes();
    c[3] = 25;
    let e = config(&c).unwrap_err().to_string();
    assert!(e.contains("unknown soil class 25"), "{e}");
}

#[test]
fn layer_errors_are_named() {
    let e = config(&[7; 19]).unwrap_err().to_string();
    assert!(e.contains("19 soil classes for 20 layers"), "{e}");
    let mut cfg = config(&tanggula_classes()).unwrap();
    cfg.thickness[3] = 0.0;
    let e = ColumnModel::new(cfg).unwrap_err().to_string();
    assert!(e.contains("thickness[4]"), "{e}");
    let mut cfg = config(&tanggula_classes()).unwrap();
    cfg.set("tbot", 0.5).unwrap();
    let e = ColumnModel::new(cfg).unwrap_err().to_string();
    assert!(e.contains("Celsius"), "{e}");
}

#[test]
fn overrides_by_name() {
    let mut cfg = config(&tanggula_classes()).unwrap();
    cfg.set("soil.bb[13]", 3.0).unwrap();
    assert!(cfg
        .soil
        .iter()
        .filter(|s| s.index == 13)
        .all(|s| s.bb == 3.0));
    assert_eq!(cfg.soil[0].bb, 5.25);
    cfg.set("soil.maxsmc", 0.45).unwrap();
    assert!(cfg.soil.iter().all(|s| s.maxsmc == 0.45));
    cfg.set("ck", 4.0).unwrap();
    cfg.set("general.czil", 0.2).unwrap();
    cfg.set("veg.rsmin", 80.0).unwrap();
    assert_eq!(cfg.veg.rs, 80.0);
    cfg.set("gravel.kdry_a", 1.5).unwrap();
    assert_eq!(cfg.coarse.gravel_kdry_a, 1.5);
    let e = cfg.set("soil.porosity", 0.4).unwrap_err().to_string();
    assert!(e.contains("soil.porosity"), "{e}");
    let e = cfg.set("soil.bb[4]", 3.0).unwrap_err().to_string();
    assert!(e.contains("no layer"), "{e}");
    assert!(cfg.set("nonsense", 1.0).is_err());
    assert!(cfg
        .options
        .set("freeze_curve", "koren2000", 0.1)
        .unwrap_err()
        .to_string()
        .contains("koren2000"));
    cfg.options.set("freeze_curve", "niu06", 0.1).unwrap();
    cfg.options.set("thermal_roughness", "yang08", 0.1).unwrap();
    ColumnModel::new(cfg).unwrap();
}

fn synthetic_year(dt: f64) -> PointForcing {
    let n = (365.0 * 86400.0 / dt) as usize;
    let steps = (0..n)
        .map(|i| {
            let day = i as f64 * dt / 86400.0;
            let season = (2.0 * std::f64::consts::PI * (day - 110.0) / 365.0).sin();
            let diurnal = if dt < 86400.0 {
                (2.0 * std::f64::consts::PI * (day.fract() - 0.25)).sin()
            } else {
                0.0
            };
            let t = 268.0 + 10.0 * season + 5.0 * diurnal;
            ForcingStep {
                t_air: t,
                q_air: 0.002 + 0.0015 * season,
                p_air: 58000.0,
                wind: 4.0,
                sw_down: (220.0 + 80.0 * season + 300.0 * diurnal).max(0.0),
                lw_down: 0.75 * 5.67e-8 * t.powi(4),
                precip: if (day as usize) % 9 == 0 {
                    3e-5 * (1.0 + season)
                } else {
                    0.0
                },
            }
        })
        .collect();
    PointForcing {
        source: "synthetic".into(),
        start: NaiveDate::from_ymd_opt(2001, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        dt,
        steps,
        lat: 33.0,
        lon: 92.0,
        z_temp: 2.0,
        z_wind: 10.0,
    }
}

#[test]
fn bad_forcing_is_rejected_with_the_variable() {
    let m = ColumnModel::new(config(&tanggula_classes()).unwrap()).unwrap();
    let mut st = m.initial_state(&InitialCondition::Equilibrium {
        t_surface: 271.0,
        saturation: 0.5,
    });
    let f = synthetic_year(86400.0);
    let t = f.start;
    let mut bad = f.steps[0];
    bad.t_air = f64::NAN;
    let e = m.step(&mut st, &bad, 86400.0, t).unwrap_err().to_string();
    assert!(e.contains("t_air") && e.contains("NaN"), "{e}");
    let mut bad = f.steps[0];
    bad.t_air = -5.0;
    let e = m.step(&mut st, &bad, 86400.0, t).unwrap_err().to_string();
    assert!(e.contains("Celsius"), "{e}");
    let mut bad = f.steps[0];
    bad.p_air = 580.0;
    let e = m.step(&mut st, &bad, 86400.0, t).unwrap_err().to_string();
    assert!(e.contains("p_air"), "{e}");
    let init = InitialCondition::Profile {
        t_soil: vec![270.0; 5],
        smc: vec![0.2; 5],
        t_skin: 270.0,
        swe: 0.0,
        snow_depth: 0.0,
        canopy_water: 0.0,
        liquid: None,
    };
    assert!(m
        .check_initial(&init)
        .unwrap_err()
        .to_string()
        .contains("for 20 layers"));
}

/// Hourly and daily synthetic years: both close their energy and water budgets,
/// and the hourly run resolves a diurnal skin-temperature cycle.
#[test]
fn hourly_and_daily_steps_conserve() {
    for dt in [86400.0, 3.0 * 3600.0, 3600.0] {
        let m = ColumnModel::new(config(&tanggula_classes()).unwrap()).unwrap();
        let mut st = m.initial_state(&InitialCondition::Equilibrium {
            t_surface: 271.0,
            saturation: 0.6,
        });
        let f = synthetic_year(dt);
        let (h0, w0) = (m.column_enthalpy(&st), m.column_water(&st));
        let (mut e_in, mut w_in) = (0.0, 0.0);
        let (mut tmin, mut tmax) = (f64::INFINITY, f64::NEG_INFINITY);
        let years = calimap::column::run(&m, &mut st, &f, &mut |_, s, x| {
            e_in += (x.ground - x.bottom_heat + x.water_heat) * dt;
            w_in += (x.rain + x.snowfall + x.dew
                - x.soil_evap
                - x.canopy_evap
                - x.transpiration
                - x.sublimation
                - x.surface_runoff
                - x.drainage
                + x.water_source)
                * dt;
            tmin = tmin.min(s.t_skin);
            tmax = tmax.max(s.t_skin);
        })
        .unwrap();
        let secs = f.steps.len() as f64 * dt;
        let e_err = (m.column_enthalpy(&st) - h0 - e_in) / secs;
        let w_err = m.column_water(&st) - w0 - w_in;
        println!(
            "dt {dt}: energy {e_err:e} W/m2, water {w_err:e} mm, skin {:.1}..{:.1} K, years {}",
            tmin,
            tmax,
            years.len()
        );
        assert!(e_err.abs() < 1e-6, "dt {dt}: energy {e_err}");
        assert!(w_err.abs() < 1e-6, "dt {dt}: water {w_err}");
        assert_eq!(years.len(), 1);
        assert!((years[0].seconds - secs).abs() < 1.0);
        assert!(tmax - tmin > 20.0);
    }
}

/// The geothermal lower boundary feeds exactly its flux into the column base.
#[test]
fn geothermal_lower_boundary() {
    let mut cfg = config(&tanggula_classes()).unwrap();
    cfg.options.lower_boundary = calimap::column::LowerBoundary::GeothermalFlux { flux: 0.06 };
    assert!(cfg.set("tbot", 272.0).is_err());
    cfg.set("geothermal_flux", 0.08).unwrap();
    let m = ColumnModel::new(cfg).unwrap();
    let mut st = m.initial_state(&InitialCondition::Equilibrium {
        t_surface: 271.0,
        saturation: 0.5,
    });
    // The equilibrium profile warms downward along the geotherm.
    assert!(st.t_soil[19] > st.t_soil[10] && st.t_soil[10] > st.t_soil[0]);
    let f = synthetic_year(86400.0);
    let h0 = m.column_enthalpy(&st);
    let mut e_in = 0.0;
    calimap::column::run(&m, &mut st, &f, &mut |_, _, x| {
        assert!((x.bottom_heat + 0.08).abs() < 1e-12);
        e_in += (x.ground - x.bottom_heat + x.water_heat) * 86400.0;
    })
    .unwrap();
    assert!(((m.column_enthalpy(&st) - h0 - e_in) / (365.0 * 86400.0)).abs() < 1e-9);
}

/// Results do not depend on threads: columns run concurrently on scoped
/// threads, sharing one model, end in bit-identical states to a serial run.
#[test]
fn results_do_not_depend_on_threads() {
    let m = ColumnModel::new(config(&tanggula_classes()).unwrap()).unwrap();
    let f = synthetic_year(3.0 * 3600.0);
    let run_one = |t0: f64| {
        let mut st = m.initial_state(&InitialCondition::Equilibrium {
            t_surface: t0,
            saturation: 0.5,
        });
        calimap::column::run(&m, &mut st, &f, &mut |_, _, _| {}).unwrap();
        st
    };
    let serial: Vec<_> = [270.0, 272.0, 274.0].iter().map(|&t| run_one(t)).collect();
    let parallel: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = [270.0, 272.0, 274.0]
            .iter()
            .map(|&t| s.spawn(move || run_one(t)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(serial, parallel);
    // Different starts give different states: the comparison is not vacuous.
    assert_ne!(serial[0].t_soil, serial[2].t_soil);
}
