//! CF-netCDF annual map files: write, read back, and check the CF metadata.

use calimap::diagnostics::{AnnualDiagnostics, FrozenClass};
use calimap::io::geotiff::{Crs, RasterGrid};
use calimap::io::netcdf_out::{
    read_annual_netcdf, write_annual_netcdf, AnnualMapStack, NetcdfMeta, CLASS_FILL, FLOAT_FILL,
};

fn diag(year: i32, k: usize) -> AnnualDiagnostics {
    let permafrost = k.is_multiple_of(3);
    AnnualDiagnostics {
        year,
        alt: permafrost.then_some(1.0 + 0.25 * k as f64),
        ttop: permafrost.then_some(-0.5 - 0.125 * k as f64),
        gt10m: -1.0 + 0.5 * k as f64,
        magt: -1.5 + 0.5 * k as f64,
        class: if permafrost {
            FrozenClass::Permafrost
        } else if k % 3 == 1 {
            FrozenClass::SeasonallyFrozen
        } else {
            FrozenClass::NonFrozen
        },
        margin: 0.0,
    }
}

fn stack(members: Vec<String>) -> AnnualMapStack {
    let grid = RasterGrid::geographic(4, 3, 91.0, 34.0, 0.1, 0.1);
    let mut s = AnnualMapStack::new(grid, vec![2009, 2010], members);
    for m in 0..s.n_members() {
        for (t, year) in [2009, 2010].into_iter().enumerate() {
            for row in 0..3 {
                for col in 0..4 {
                    // Leave one cell as nodata (a lake).
                    if row == 1 && col == 2 {
                        continue;
                    }
                    let k = m * 7 + t * 5 + row * 4 + col;
                    s.set(m, row, col, &diag(year, k)).unwrap();
                }
            }
        }
    }
    s
}

fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

fn meta() -> NetcdfMeta {
    NetcdfMeta {
        title: "calimap test maps".into(),
        history: "written by the io_netcdf test".into(),
        comment: None,
    }
}

#[test]
fn round_trip_without_and_with_members() {
    let dir = tempfile::tempdir().unwrap();
    for members in [vec![], vec!["m01".to_string(), "ensemble_mean".to_string()]] {
        let s = stack(members.clone());
        let p = dir.path().join(format!("maps{}.nc", members.len()));
        write_annual_netcdf(&p, &s, &meta()).unwrap();
        let back = read_annual_netcdf(&p).unwrap();
        assert_eq!(back.years, vec![2009, 2010]);
        assert_eq!(back.members, members);
        assert_eq!(back.grid.cols, 4);
        assert_eq!(back.grid.rows, 3);
        s.grid.check_same(&back.grid).unwrap();
        assert_eq!(back.class, s.class);
        assert!(same(&back.alt, &s.alt));
        assert!(same(&back.ttop, &s.ttop));
        assert!(same(&back.magt, &s.magt));
        assert!(same(&back.gt10m, &s.gt10m));
        // The lake cell is missing everywhere.
        let k = back.index(0, 1, 1, 2);
        assert_eq!(back.class[k], CLASS_FILL);
        assert!(back.magt[k].is_nan());
    }
    // Only the two files, no temporaries.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn yearly_slices_become_geotiffs() {
    let dir = tempfile::tempdir().unwrap();
    let s = stack(vec!["m01".into(), "m02".into()]);
    let class = s.class_raster(1, 1).unwrap();
    assert_eq!(class.data[s.grid.cols + 2], CLASS_FILL);
    assert_eq!(class.data[0], s.class[s.index(1, 1, 0, 0)]);
    let p = dir.path().join("class_2010.tif");
    calimap::io::write_geotiff(&p, &class).unwrap();
    let back: calimap::io::Raster<u8> = calimap::io::read_geotiff(&p).unwrap();
    assert_eq!(back, class);
    let alt = s.field_raster("alt", 0, 0).unwrap();
    assert_eq!(alt.nodata, Some(FLOAT_FILL));
    assert_eq!(alt.data[0], s.alt[0]);
    assert_eq!(alt.data[s.grid.cols + 2], FLOAT_FILL);
    assert!(s.field_raster("depth", 0, 0).is_err());
    assert!(s.class_raster(2, 0).is_err());
    assert!(s.class_raster(0, 2).is_err());
}

#[test]
fn cf_metadata_is_present() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("maps.nc");
    write_annual_netcdf(&p, &stack(vec![]), &meta()).unwrap();
    let f = netcdf::open(&p).unwrap();
    let text = |a: Option<netcdf::Attribute>| -> String {
        match a.unwrap().value().unwrap() {
            netcdf::AttributeValue::Str(s) => s,
            other => panic!("not text: {other:?}"),
        }
    };
    assert_eq!(text(f.attribute("Conventions")), "CF-1.8");
    assert_eq!(text(f.attribute("title")), "calimap test maps");
    assert!(text(f.attribute("history")).contains("io_netcdf"));
    let lat = f.variable("lat").unwrap();
    assert_eq!(text(lat.attribute("units")), "degrees_north");
    assert_eq!(text(lat.attribute("standard_name")), "latitude");
    assert_eq!(text(lat.attribute("axis")), "Y");
    let lats: Vec<f64> = lat.get_values(..).unwrap();
    assert!((lats[0] - 33.95).abs() < 1e-12 && (lats[2] - 33.75).abs() < 1e-12);
    let lon = f.variable("lon").unwrap();
    assert_eq!(text(lon.attribute("units")), "degrees_east");
    assert_eq!(text(lon.attribute("axis")), "X");
    let time = f.variable("time").unwrap();
    assert_eq!(text(time.attribute("axis")), "T");
    assert_eq!(text(time.attribute("calendar")), "standard");
    // 2009-01-01 is day 14245 since 1970-01-01; 2010-01-01 is day 14610.
    let t: Vec<f64> = time.get_values(..).unwrap();
    assert_eq!(t, vec![14245.0, 14610.0]);
    let class = f.variable("class").unwrap();
    assert_eq!(class.fill_value::<u8>().unwrap(), Some(CLASS_FILL));
    assert_eq!(
        class.attribute("flag_values").unwrap().value().unwrap(),
        netcdf::AttributeValue::Uchars(vec![1, 2, 3])
    );
    assert_eq!(
        text(class.attribute("flag_meanings")),
        "permafrost seasonally_frozen_ground non_frozen_ground"
    );
    for (name, units) in [
        ("alt", "m"),
        ("magt", "degC"),
        ("ttop", "degC"),
        ("gt10m", "degC"),
    ] {
        let v = f.variable(name).unwrap();
        assert_eq!(text(v.attribute("units")), units, "{name}");
        assert!(!text(v.attribute("long_name")).is_empty());
        assert_eq!(v.fill_value::<f32>().unwrap(), Some(FLOAT_FILL));
        assert_eq!(text(v.attribute("grid_mapping")), "crs");
        let dims: Vec<String> = v.dimensions().iter().map(|d| d.name()).collect();
        assert_eq!(dims, ["time", "lat", "lon"]);
    }
}

#[test]
fn bad_stacks_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = stack(vec![]);
    s.alt.pop();
    let e = write_annual_netcdf(dir.path().join("x.nc"), &s, &meta()).unwrap_err();
    assert!(e.to_string().contains("alt"), "{e}");
    let mut s = stack(vec![]);
    s.grid.crs = Crs::Projected(32646);
    assert!(write_annual_netcdf(dir.path().join("y.nc"), &s, &meta()).is_err());
    let mut s = stack(vec![]);
    assert!(s.set(0, 0, 0, &diag(1999, 0)).is_err());
    assert!(s.set(0, 5, 0, &diag(2010, 0)).is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(read_annual_netcdf(dir.path().join("missing.nc")).is_err());
}
