//! The CF-netCDF annual map file opened by external tools (ncdump, xarray).
//!
//! Kept apart from the other netCDF tests: a child process started while
//! another thread holds an HDF5 file open inherits that file's lock and would
//! make the other test's reopen fail.

use std::process::Command;

use calimap::diagnostics::{AnnualDiagnostics, FrozenClass};
use calimap::io::geotiff::RasterGrid;
use calimap::io::netcdf_out::{write_annual_netcdf, AnnualMapStack, NetcdfMeta};

fn stack(members: Vec<String>) -> AnnualMapStack {
    let grid = RasterGrid::geographic(4, 3, 91.0, 34.0, 0.1, 0.1);
    let mut s = AnnualMapStack::new(grid, vec![2009, 2010], members);
    for m in 0..s.n_members() {
        for year in [2009, 2010] {
            for row in 0..3 {
                for col in 0..4 {
                    if row == 1 && col == 2 {
                        continue;
                    }
                    let d = AnnualDiagnostics {
                        year,
                        alt: (col % 2 == 0).then_some(1.0 + 0.1 * row as f64),
                        ttop: (col % 2 == 0).then_some(-0.5),
                        gt10m: -1.0 + 0.5 * col as f64,
                        magt: -1.2 + 0.5 * col as f64,
                        class: if col % 2 == 0 {
                            FrozenClass::Permafrost
                        } else {
                            FrozenClass::SeasonallyFrozen
                        },
                        margin: 0.0,
                    };
                    s.set(m, row, col, &d).unwrap();
                }
            }
        }
    }
    s
}

fn meta() -> NetcdfMeta {
    NetcdfMeta {
        title: "calimap test maps".into(),
        history: "written by the io_netcdf_tools test".into(),
        comment: None,
    }
}

#[test]
fn external_tools_open_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("maps.nc");
    write_annual_netcdf(&p, &stack(vec!["a".into(), "b".into()]), &meta()).unwrap();
    match Command::new("ncdump").arg("-h").arg(&p).output() {
        Ok(o) => {
            assert!(o.status.success());
            let h = String::from_utf8_lossy(&o.stdout);
            assert!(h.contains(":Conventions = \"CF-1.8\""), "{h}");
            assert!(h.contains("ubyte class(member, time, lat, lon)"), "{h}");
            assert!(h.contains("float alt(member, time, lat, lon)"), "{h}");
        }
        Err(_) => eprintln!("note: ncdump not installed; skipped"),
    }
    let has_xarray = Command::new("python3")
        .args(["-c", "import xarray, netCDF4"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_xarray {
        eprintln!("note: python3 with xarray and netCDF4 not available; skipped");
        return;
    }
    let script = "import sys, xarray as xr\n\
        ds = xr.open_dataset(sys.argv[1])\n\
        assert ds.attrs['Conventions'] == 'CF-1.8'\n\
        assert ds['alt'].attrs['units'] == 'm'\n\
        assert list(ds['alt'].dims) == ['member', 'time', 'lat', 'lon']\n\
        assert int(ds['time'].dt.year[1]) == 2010\n\
        assert int(ds['alt'].isnull().sum()) > 0\n\
        print('ok')\n";
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
