//! Energy and water closure of the full column over ten simulated years of
//! real Tanggula forcing.

mod common;

use calimap::column::{ColumnModel, StepFluxes};

#[test]
fn ten_year_energy_and_water_closure_tanggula() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let site = common::tanggula(&data);
    let forcing = common::recycled(&site.forcing, 10);
    let m = ColumnModel::new(site.config.clone()).unwrap();
    let mut st = m.initial_state(&site.init);
    let h0 = m.column_enthalpy(&st);
    let w0 = m.column_water(&st);
    let mut heat_in = 0.0; // J m-2 through the boundaries (incl. water enthalpy)
    let mut water_in = 0.0; // kg m-2
    let mut max_surface = 0.0f64;
    let mut steps = 0usize;
    let mut sum_g = 0.0;
    let mut iters = Vec::new();
    let mut on_step = |_t, _s: &_, f: &StepFluxes| {
        iters.push(f.heat_iterations);
        heat_in += (f.ground - f.bottom_heat + f.water_heat) * forcing.dt;
        water_in += (f.rain + f.snowfall + f.dew
            - f.soil_evap
            - f.canopy_evap
            - f.transpiration
            - f.sublimation
            - f.surface_runoff
            - f.drainage
            + f.water_source)
            * forcing.dt;
        max_surface = max_surface.max(f.surface_residual.abs());
        sum_g += f.ground;
        steps += 1;
    };
    let years = calimap::column::run(&m, &mut st, &forcing, &mut on_step).unwrap();
    let max_it = iters.iter().max().copied().unwrap_or(0);
    let mean_it = iters.iter().sum::<usize>() as f64 / iters.len() as f64;
    println!(
        "heat iterations: mean {mean_it:.2}, max {max_it}, at the cap {}",
        iters.iter().filter(|&&i| i >= 200).count()
    );
    let seconds = forcing.steps.len() as f64 * forcing.dt;
    let energy_err = (m.column_enthalpy(&st) - h0 - heat_in) / seconds;
    let water_err = (m.column_water(&st) - w0 - water_in) / (seconds / (365.25 * 86400.0));
    println!(
        "{} steps, {} calendar years; energy closure {energy_err:e} W/m2, water closure {water_err:e} mm/yr, max SEB residual {max_surface:e} W/m2, mean G {:.3} W/m2",
        steps,
        years.len(),
        sum_g / steps as f64
    );
    for y in &years {
        println!(
            "{} mean T(0.02 m) {:.2} C, T max(1 m) {:.2} C",
            y.year, y.t_mean[0], y.t_max[7]
        );
    }
    assert!(energy_err.abs() < 1e-3, "energy closure {energy_err} W m-2");
    assert!(water_err.abs() < 1e-3, "water closure {water_err} mm/yr");
    assert!(
        max_surface < 1e-2,
        "surface energy balance residual {max_surface} W m-2"
    );
    // The thaw-equivalent maximum (calibration's margin) is the temperature
    // maximum wherever a layer thawed and below 0 C wherever it did not;
    // below 0 C it is at most the temperature (the latent heat of any ice
    // left lowers it).
    for y in &years {
        assert_eq!(y.thaw_max.len(), y.t_max.len(), "year {}", y.year);
        for (i, (&q, &t)) in y.thaw_max.iter().zip(&y.t_max).enumerate() {
            if t > 0.0 {
                assert!((q - t).abs() < 1e-9, "{} layer {i}: {q} vs {t}", y.year);
            } else {
                assert!(
                    q <= 0.0 && q <= t + 1e-9,
                    "{} layer {i}: {q} vs {t}",
                    y.year
                );
            }
        }
    }
    // Plausible permafrost site: the deep ground stays near or below 0 C.
    let last = years.last().unwrap();
    assert!(
        last.t_mean[19] < 3.0 && last.t_mean[19] > -8.0,
        "deep mean {}",
        last.t_mean[19]
    );
}
