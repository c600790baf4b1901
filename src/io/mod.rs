//! File outputs and inputs: GeoTIFF, CF-netCDF, run manifests and atomic writes.

pub mod atomic;
pub mod geotiff;
pub mod manifest;
pub mod netcdf_out;

pub use atomic::{write_atomic, write_bytes_atomic, AtomicPath};
pub use geotiff::{
    read_geotiff, read_geotiff_any, write_geotiff, AnyRaster, Crs, GeoTransform, Raster, RasterGrid,
};
pub use manifest::{sha256_file, RunManifest, MANIFEST_FILE};
pub use netcdf_out::{read_annual_netcdf, write_annual_netcdf, AnnualMapStack, NetcdfMeta};
