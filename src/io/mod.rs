//! File outputs and inputs: GeoTIFF, CF-netCDF, run manifests and atomic writes.
