//! File outputs and inputs: GeoTIFF, CF-netCDF, run manifests and atomic writes.

pub mod atomic;
pub mod geotiff;

pub use atomic::{write_atomic, write_bytes_atomic, AtomicPath};
pub use geotiff::{
    read_geotiff, read_geotiff_any, write_geotiff, AnyRaster, Crs, GeoTransform, Raster, RasterGrid,
};
