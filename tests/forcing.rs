//! Forcing readers, unit conversion, bad input and the demo domain.

use std::path::{Path, PathBuf};

use calimap::forcing::read_noah_ascii;

/// The shared real-data folder, or `None` (after a note) when it is missing
/// outside CI; in CI (`CI=true`) a missing folder fails the test.
fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("CALIMAP_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "shared data not found at {} (set CALIMAP_SHARED_DATA)",
            dir.display()
        );
    }
    eprintln!("note: shared data not found at {}; skipping", dir.display());
    None
}

#[test]
fn tanggula_noah_ascii() {
    let Some(data) = shared_data() else { return };
    let f = read_noah_ascii(data.join("tanggula/forcing.txt")).unwrap();
    let h = &f.header;
    assert_eq!(f.forcing.steps.len(), 1371);
    assert_eq!(f.forcing.dt, 86400.0);
    assert_eq!(h.forcing_timestep, 86400.0);
    assert_eq!(h.noahlsm_timestep, 86400.0);
    assert_eq!(h.latitude, 33.02);
    assert_eq!(h.longitude, 91.96);
    assert_eq!(h.n_layers(), 20);
    assert!((h.column_depth() - 15.2).abs() < 1e-9);
    assert_eq!(h.soil_htype[4], 9);
    assert_eq!(h.soil_htype[19], 13);
    assert_eq!(h.soil_temperature[0], 273.4);
    assert_eq!(h.soil_liquid[6], 0.003);
    assert_eq!(h.skin_temperature, 271.241);
    assert_eq!(h.deep_soil_temperature, 272.43);
    assert_eq!(h.vegetation_type_index, 9);
    assert_eq!(h.soil_type_index, Some(3));
    assert_eq!(h.glacial_veg_category, 24);
    assert_eq!(h.air_temperature_level, 2.0);
    assert_eq!(h.wind_level, 10.0);
    assert_eq!(h.sfcdif_option, 1);
    assert!(!h.usemonalb && !h.sea_ice_point);
    assert_eq!(h.max_snow_albedo, Some(0.75));
    assert_eq!(h.shdfac_monthly.unwrap()[7], 0.96);
    assert_eq!(h.z0brd_monthly.unwrap()[5], 0.036);
    assert_eq!(h.landuse_dataset, "USGS");
    assert_eq!(
        f.forcing.start,
        chrono::NaiveDate::from_ymd_opt(2007, 4, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    );
    assert_eq!(
        f.forcing.time(1370),
        chrono::NaiveDate::from_ymd_opt(2010, 12, 31)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    );
    // First row: 4.1889973491 m/s, 271.2412439391 K, 25.9113713626 %, 548.22 hPa.
    let s = f.forcing.steps[0];
    assert_eq!(s.wind, 4.1889973491);
    assert_eq!(s.t_air, 271.2412439391);
    assert_eq!(s.p_air, 54822.0);
    assert_eq!(s.sw_down, 243.6875);
    assert_eq!(s.lw_down, 228.8125);
    assert_eq!(s.precip, 0.0000000003104409);
    // Noah driver humidity by hand: Lv = 2.501e6 - 2317*(-1.9087560609) = 2505422.58;
    // e_s = 611.2 exp(Lv (1/273.15 - 1/271.2412439) / 461.5) = 531.425 Pa;
    // e = p e_s r / (p - e_s (1 - r)) = 138.695 Pa; q = 0.622 e / (p - 0.378 e) = 1.575119e-3.
    assert!((s.q_air - 1.575_119e-3).abs() < 1e-9, "{}", s.q_air);
}
