//! Single-band GeoTIFF rasters: read u8 / i16 / f32 / f64 (uncompressed, LZW,
//! Deflate or PackBits; strips or tiles) and write u8 / f32 (LZW).
//!
//! Georeferencing follows the GeoTIFF 1.1 standard (OGC 19-008r4):
//! ModelPixelScaleTag (33550) and ModelTiepointTag (33922) give a north-up
//! affine transform, GeoKeyDirectoryTag (34735) the CRS (GTModelTypeGeoKey
//! 1024, GTRasterTypeGeoKey 1025, GeographicTypeGeoKey 2048,
//! ProjectedCSTypeGeoKey 3072). The nodata value is GDAL's ASCII tag 42113.
//! Rotated rasters (ModelTransformationTag 34264 with shear terms) are not
//! supported and are reported as an error.
//!
//! In memory, [`Raster::data`] is row-major with row 0 the northernmost row,
//! and [`GeoTransform`] always describes the *outer edge* of the top-left
//! pixel (GDAL's convention); a PixelIsPoint file is shifted by half a pixel
//! on reading, as GDAL does.

use std::fs::File;
use std::io::{BufReader, Seek, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::encoder::{colortype, Compression, TiffEncoder, TiffValue};
use tiff::tags::Tag;

use super::atomic::write_atomic;
use crate::{Error, Result};

const TAG_PIXEL_SCALE: u16 = 33550;
const TAG_TIEPOINT: u16 = 33922;
const TAG_TRANSFORMATION: u16 = 34264;
const TAG_GEOKEYS: u16 = 34735;
const TAG_GDAL_NODATA: u16 = 42113;

const KEY_MODEL_TYPE: u16 = 1024;
const KEY_RASTER_TYPE: u16 = 1025;
const KEY_GEOGRAPHIC_TYPE: u16 = 2048;
const KEY_PROJECTED_TYPE: u16 = 3072;

/// A north-up affine transform: the model coordinates of the outer corner of
/// the top-left pixel and the pixel size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeoTransform {
    /// Model x (longitude in degrees, or easting in m) of the west edge of column 0.
    pub x_origin: f64,
    /// Model y (latitude in degrees, or northing in m) of the north edge of row 0.
    pub y_origin: f64,
    /// Pixel width in model units (> 0).
    pub dx: f64,
    /// Pixel height in model units (> 0; rows run southwards).
    pub dy: f64,
}

/// The coordinate reference system of a raster, as an EPSG code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Crs {
    /// A geographic CRS (lon/lat degrees), e.g. EPSG:4326.
    Geographic(u16),
    /// A projected CRS (metres), e.g. EPSG:32646.
    Projected(u16),
    /// No GeoKeys, or a user-defined CRS this reader does not interpret.
    Unknown,
}

impl Crs {
    /// WGS 84 geographic coordinates.
    pub const WGS84: Crs = Crs::Geographic(4326);

    /// The EPSG code, if known.
    pub fn epsg(self) -> Option<u16> {
        match self {
            Crs::Geographic(c) | Crs::Projected(c) => Some(c),
            Crs::Unknown => None,
        }
    }
}

/// The shape, transform and CRS of a raster.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RasterGrid {
    /// Number of columns (west to east).
    pub cols: usize,
    /// Number of rows (north to south).
    pub rows: usize,
    /// The affine transform.
    pub transform: GeoTransform,
    /// The coordinate reference system.
    pub crs: Crs,
}

impl RasterGrid {
    /// A geographic (EPSG:4326) grid from the outer north-west corner and the cell size in degrees.
    pub fn geographic(cols: usize, rows: usize, west: f64, north: f64, dx: f64, dy: f64) -> Self {
        Self {
            cols,
            rows,
            transform: GeoTransform {
                x_origin: west,
                y_origin: north,
                dx,
                dy,
            },
            crs: Crs::WGS84,
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cols * self.rows
    }

    /// True for a grid without cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Model coordinates (x, y) of the centre of cell (`row`, `col`).
    pub fn cell_center(&self, row: usize, col: usize) -> (f64, f64) {
        let t = &self.transform;
        (
            t.x_origin + (col as f64 + 0.5) * t.dx,
            t.y_origin - (row as f64 + 0.5) * t.dy,
        )
    }

    /// The x coordinates of the column centres (west to east).
    pub fn x_centers(&self) -> Vec<f64> {
        (0..self.cols).map(|c| self.cell_center(0, c).0).collect()
    }

    /// The y coordinates of the row centres (north to south).
    pub fn y_centers(&self) -> Vec<f64> {
        (0..self.rows).map(|r| self.cell_center(r, 0).1).collect()
    }

    /// The (row, col) of the cell containing model point (x, y), if inside.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let t = &self.transform;
        let c = ((x - t.x_origin) / t.dx).floor();
        let r = ((t.y_origin - y) / t.dy).floor();
        if c >= 0.0 && r >= 0.0 && (c as usize) < self.cols && (r as usize) < self.rows {
            Some((r as usize, c as usize))
        } else {
            None
        }
    }

    /// Check that `other` is the same grid: equal shape and CRS, and origins
    /// and pixel sizes equal within 1e-6 of a pixel. The error says what differs.
    pub fn check_same(&self, other: &RasterGrid) -> Result<()> {
        if self.cols != other.cols || self.rows != other.rows {
            return Err(Error::Grid(format!(
                "{} x {} cells (cols x rows) against {} x {}",
                self.cols, self.rows, other.cols, other.rows
            )));
        }
        if self.crs != other.crs {
            return Err(Error::Grid(format!(
                "CRS {:?} against {:?}",
                self.crs, other.crs
            )));
        }
        let (a, b) = (&self.transform, &other.transform);
        let tol_x = 1e-6 * a.dx.abs();
        let tol_y = 1e-6 * a.dy.abs();
        if (a.dx - b.dx).abs() > tol_x || (a.dy - b.dy).abs() > tol_y {
            return Err(Error::Grid(format!(
                "pixel size {} x {} against {} x {}",
                a.dx, a.dy, b.dx, b.dy
            )));
        }
        if (a.x_origin - b.x_origin).abs() > tol_x || (a.y_origin - b.y_origin).abs() > tol_y {
            return Err(Error::Grid(format!(
                "origin ({}, {}) against ({}, {})",
                a.x_origin, a.y_origin, b.x_origin, b.y_origin
            )));
        }
        Ok(())
    }
}

/// A pixel type that calimap reads from GeoTIFF.
pub trait RasterValue: Copy + PartialEq + std::fmt::Debug + Send + Sync + 'static {
    /// Name of the type in messages.
    const NAME: &'static str;
    /// Take the pixels out of a decoded image of this type.
    fn from_decoded(d: DecodingResult) -> std::result::Result<Vec<Self>, DecodingResult>;
    /// Parse GDAL's ASCII nodata value.
    fn parse_nodata(s: &str) -> Option<Self>;
    /// Format a nodata value for GDAL's ASCII tag.
    fn format_nodata(self) -> String;
    /// True if `self` is the nodata value `nodata` (NaN equals NaN).
    fn is_nodata(self, nodata: Self) -> bool {
        self == nodata
    }
    /// The value as f64.
    fn to_f64(self) -> f64;
    /// The raster, if `a` holds pixels of this type.
    fn from_any(a: AnyRaster) -> std::result::Result<Raster<Self>, AnyRaster>;
}

macro_rules! int_value {
    ($t:ty, $variant:ident, $name:expr) => {
        impl RasterValue for $t {
            const NAME: &'static str = $name;
            fn from_decoded(d: DecodingResult) -> std::result::Result<Vec<Self>, DecodingResult> {
                match d {
                    DecodingResult::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
            fn parse_nodata(s: &str) -> Option<Self> {
                let s = s.trim();
                s.parse::<$t>().ok().or_else(|| {
                    let f: f64 = s.parse().ok()?;
                    (f.fract() == 0.0 && f >= <$t>::MIN as f64 && f <= <$t>::MAX as f64)
                        .then_some(f as $t)
                })
            }
            fn format_nodata(self) -> String {
                self.to_string()
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_any(a: AnyRaster) -> std::result::Result<Raster<Self>, AnyRaster> {
                match a {
                    AnyRaster::$variant(r) => Ok(r),
                    other => Err(other),
                }
            }
        }
    };
}

macro_rules! float_value {
    ($t:ty, $variant:ident, $name:expr) => {
        impl RasterValue for $t {
            const NAME: &'static str = $name;
            fn from_decoded(d: DecodingResult) -> std::result::Result<Vec<Self>, DecodingResult> {
                match d {
                    DecodingResult::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
            fn parse_nodata(s: &str) -> Option<Self> {
                let s = s.trim();
                match s.to_ascii_lowercase().as_str() {
                    "nan" | "-nan" => Some(<$t>::NAN),
                    "inf" | "+inf" => Some(<$t>::INFINITY),
                    "-inf" => Some(<$t>::NEG_INFINITY),
                    _ => s.parse::<f64>().ok().map(|v| v as $t),
                }
            }
            fn format_nodata(self) -> String {
                if self.is_nan() {
                    "nan".into()
                } else {
                    // Shortest representation that parses back to the same value.
                    format!("{:?}", self)
                }
            }
            fn is_nodata(self, nodata: Self) -> bool {
                self == nodata || (self.is_nan() && nodata.is_nan())
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_any(a: AnyRaster) -> std::result::Result<Raster<Self>, AnyRaster> {
                match a {
                    AnyRaster::$variant(r) => Ok(r),
                    other => Err(other),
                }
            }
        }
    };
}

int_value!(u8, U8, "u8");
int_value!(i16, I16, "i16");
float_value!(f32, F32, "f32");
float_value!(f64, F64, "f64");

/// A single-band raster: grid, pixels (row-major, row 0 north) and nodata.
#[derive(Clone, Debug, PartialEq)]
pub struct Raster<T> {
    /// Shape, transform and CRS.
    pub grid: RasterGrid,
    /// Pixels, `data[row * cols + col]`, row 0 the northernmost.
    pub data: Vec<T>,
    /// The nodata value, if the raster has one.
    pub nodata: Option<T>,
}

impl<T: RasterValue> Raster<T> {
    /// A raster from its parts; errors when `data` does not fill the grid.
    pub fn new(grid: RasterGrid, data: Vec<T>, nodata: Option<T>) -> Result<Self> {
        if data.len() != grid.len() {
            return Err(Error::Grid(format!(
                "raster data has {} values but the grid has {} x {} = {} cells",
                data.len(),
                grid.cols,
                grid.rows,
                grid.len()
            )));
        }
        Ok(Self { grid, data, nodata })
    }

    /// The value at (`row`, `col`), if inside the grid.
    pub fn get(&self, row: usize, col: usize) -> Option<T> {
        (row < self.grid.rows && col < self.grid.cols)
            .then(|| self.data[row * self.grid.cols + col])
    }

    /// True if `v` is this raster's nodata value.
    pub fn is_nodata(&self, v: T) -> bool {
        self.nodata.is_some_and(|nd| v.is_nodata(nd))
    }

    /// A validity mask: true where the pixel is not nodata.
    pub fn valid_mask(&self) -> Vec<bool> {
        self.data.iter().map(|&v| !self.is_nodata(v)).collect()
    }

    /// The pixels as f64 with nodata turned into NaN.
    pub fn to_f64_nan(&self) -> Vec<f64> {
        self.data
            .iter()
            .map(|&v| {
                if self.is_nodata(v) {
                    f64::NAN
                } else {
                    v.to_f64()
                }
            })
            .collect()
    }
}

/// A raster of any pixel type the reader supports.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyRaster {
    /// 8-bit unsigned.
    U8(Raster<u8>),
    /// 16-bit signed.
    I16(Raster<i16>),
    /// 32-bit float.
    F32(Raster<f32>),
    /// 64-bit float.
    F64(Raster<f64>),
}

impl AnyRaster {
    /// The pixel type's name.
    pub fn type_name(&self) -> &'static str {
        match self {
            AnyRaster::U8(_) => "u8",
            AnyRaster::I16(_) => "i16",
            AnyRaster::F32(_) => "f32",
            AnyRaster::F64(_) => "f64",
        }
    }

    /// The grid.
    pub fn grid(&self) -> &RasterGrid {
        match self {
            AnyRaster::U8(r) => &r.grid,
            AnyRaster::I16(r) => &r.grid,
            AnyRaster::F32(r) => &r.grid,
            AnyRaster::F64(r) => &r.grid,
        }
    }

    /// The pixels as f64 with nodata as NaN.
    pub fn to_f64_nan(&self) -> Vec<f64> {
        match self {
            AnyRaster::U8(r) => r.to_f64_nan(),
            AnyRaster::I16(r) => r.to_f64_nan(),
            AnyRaster::F32(r) => r.to_f64_nan(),
            AnyRaster::F64(r) => r.to_f64_nan(),
        }
    }
}

fn tiff_err(path: &Path, what: &str, e: tiff::TiffError) -> Error {
    Error::parse(path, None, format!("GeoTIFF {what}: {e}"))
}

fn decoded_type(d: &DecodingResult) -> &'static str {
    match d {
        DecodingResult::U8(_) => "u8",
        DecodingResult::U16(_) => "u16",
        DecodingResult::U32(_) => "u32",
        DecodingResult::U64(_) => "u64",
        DecodingResult::F16(_) => "f16",
        DecodingResult::F32(_) => "f32",
        DecodingResult::F64(_) => "f64",
        DecodingResult::I8(_) => "i8",
        DecodingResult::I16(_) => "i16",
        DecodingResult::I32(_) => "i32",
        DecodingResult::I64(_) => "i64",
    }
}

struct Header {
    grid: RasterGrid,
    nodata: Option<String>,
}

fn read_header<R: std::io::Read + Seek>(path: &Path, dec: &mut Decoder<R>) -> Result<Header> {
    let (w, h) = dec
        .dimensions()
        .map_err(|e| tiff_err(path, "dimensions", e))?;
    let spp: u16 = dec
        .find_tag_unsigned(Tag::SamplesPerPixel)
        .map_err(|e| tiff_err(path, "SamplesPerPixel", e))?
        .unwrap_or(1);
    if spp != 1 {
        return Err(Error::parse(
            path,
            None,
            format!("GeoTIFF has {spp} bands; calimap reads single-band rasters only"),
        ));
    }
    let f64s = |dec: &mut Decoder<R>, tag: u16| -> Result<Option<Vec<f64>>> {
        match dec.find_tag(Tag::Unknown(tag)) {
            Ok(Some(v)) => v
                .into_f64_vec()
                .map(Some)
                .map_err(|e| tiff_err(path, &format!("tag {tag}"), e)),
            Ok(None) => Ok(None),
            Err(e) => Err(tiff_err(path, &format!("tag {tag}"), e)),
        }
    };
    let scale = f64s(dec, TAG_PIXEL_SCALE)?;
    let tie = f64s(dec, TAG_TIEPOINT)?;
    let matrix = f64s(dec, TAG_TRANSFORMATION)?;
    let keys: Option<Vec<u16>> = match dec.find_tag(Tag::Unknown(TAG_GEOKEYS)) {
        Ok(Some(v)) => Some(
            v.into_u16_vec()
                .map_err(|e| tiff_err(path, "GeoKeyDirectoryTag", e))?,
        ),
        Ok(None) => None,
        Err(e) => return Err(tiff_err(path, "GeoKeyDirectoryTag", e)),
    };
    let nodata = match dec.find_tag(Tag::Unknown(TAG_GDAL_NODATA)) {
        Ok(Some(v)) => Some(
            v.into_string()
                .map_err(|e| tiff_err(path, "GDAL_NODATA", e))?
                .trim_end_matches('\0')
                .trim()
                .to_string(),
        ),
        Ok(None) => None,
        Err(e) => return Err(tiff_err(path, "GDAL_NODATA", e)),
    };

    let (crs, pixel_is_point) = parse_geokeys(path, keys.as_deref())?;
    let mut transform = match (scale, tie, matrix) {
        (Some(s), Some(t), _) if s.len() >= 2 && t.len() >= 6 => {
            if s[0] <= 0.0 || s[1] <= 0.0 {
                return Err(Error::parse(
                    path,
                    None,
                    format!(
                        "ModelPixelScaleTag ({}, {}) must be positive (south-up rasters are not supported)",
                        s[0], s[1]
                    ),
                ));
            }
            GeoTransform {
                x_origin: t[3] - t[0] * s[0],
                y_origin: t[4] + t[1] * s[1],
                dx: s[0],
                dy: s[1],
            }
        }
        (_, _, Some(m)) if m.len() >= 16 => {
            if m[1] != 0.0 || m[4] != 0.0 || m[0] <= 0.0 || m[5] >= 0.0 {
                return Err(Error::parse(
                    path,
                    None,
                    "ModelTransformationTag describes a rotated or south-up raster, which is not supported",
                ));
            }
            GeoTransform {
                x_origin: m[3],
                y_origin: m[7],
                dx: m[0],
                dy: -m[5],
            }
        }
        _ => {
            return Err(Error::parse(
                path,
                None,
                "GeoTIFF has no georeferencing (ModelPixelScaleTag + ModelTiepointTag or ModelTransformationTag)",
            ))
        }
    };
    if pixel_is_point {
        transform.x_origin -= 0.5 * transform.dx;
        transform.y_origin += 0.5 * transform.dy;
    }
    Ok(Header {
        grid: RasterGrid {
            cols: w as usize,
            rows: h as usize,
            transform,
            crs,
        },
        nodata,
    })
}

/// Interpret a GeoKeyDirectory: the CRS and whether the raster is PixelIsPoint.
fn parse_geokeys(path: &Path, keys: Option<&[u16]>) -> Result<(Crs, bool)> {
    let Some(k) = keys else {
        return Ok((Crs::Unknown, false));
    };
    if k.len() < 4 {
        return Err(Error::parse(
            path,
            None,
            "GeoKeyDirectoryTag is shorter than its 4-value header",
        ));
    }
    let n = k[3] as usize;
    if k.len() < 4 + 4 * n {
        return Err(Error::parse(
            path,
            None,
            format!(
                "GeoKeyDirectoryTag announces {n} keys but holds {} values",
                k.len()
            ),
        ));
    }
    let mut model = None;
    let mut raster = None;
    let mut geographic = None;
    let mut projected = None;
    for e in k[4..4 + 4 * n].chunks_exact(4) {
        // Only SHORT keys stored in place (location 0) are read here.
        if e[1] != 0 {
            continue;
        }
        match e[0] {
            KEY_MODEL_TYPE => model = Some(e[3]),
            KEY_RASTER_TYPE => raster = Some(e[3]),
            KEY_GEOGRAPHIC_TYPE => geographic = Some(e[3]),
            KEY_PROJECTED_TYPE => projected = Some(e[3]),
            _ => {}
        }
    }
    let usable = |c: Option<u16>| c.filter(|&c| c != 0 && c != 32767);
    let crs = match (model, usable(projected), usable(geographic)) {
        (Some(1), Some(p), _) => Crs::Projected(p),
        (Some(2), _, Some(g)) => Crs::Geographic(g),
        (None, Some(p), _) => Crs::Projected(p),
        (None, None, Some(g)) => Crs::Geographic(g),
        _ => Crs::Unknown,
    };
    Ok((crs, raster == Some(2)))
}

fn open(path: &Path) -> Result<Decoder<BufReader<File>>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    Decoder::new(BufReader::new(f))
        .map(|d| d.with_limits(Limits::unlimited()))
        .map_err(|e| tiff_err(path, "header", e))
}

/// Read a single-band GeoTIFF whose pixels are of type `T`.
///
/// Errors name the file: unreadable, multi-band, not georeferenced, a pixel
/// type other than `T`, or a nodata tag that does not parse as `T`.
pub fn read_geotiff<T: RasterValue>(path: impl AsRef<Path>) -> Result<Raster<T>> {
    let path = path.as_ref();
    T::from_any(read_geotiff_any(path)?).map_err(|any| {
        Error::parse(
            path,
            None,
            format!(
                "GeoTIFF pixels are {}, expected {}",
                any.type_name(),
                T::NAME
            ),
        )
    })
}

fn finish<T: RasterValue>(path: &Path, header: Header, data: Vec<T>) -> Result<Raster<T>> {
    let nodata = match header.nodata {
        None => None,
        Some(s) => Some(T::parse_nodata(&s).ok_or_else(|| {
            Error::parse(
                path,
                None,
                format!("GDAL_NODATA `{s}` is not a valid {} value", T::NAME),
            )
        })?),
    };
    Raster::new(header.grid, data, nodata).map_err(|e| Error::parse(path, None, e.to_string()))
}

/// Read a single-band GeoTIFF of any supported pixel type (u8, i16, f32, f64).
pub fn read_geotiff_any(path: impl AsRef<Path>) -> Result<AnyRaster> {
    let path = path.as_ref();
    let mut dec = open(path)?;
    let header = read_header(path, &mut dec)?;
    let bits = match dec.colortype() {
        Ok(tiff::ColorType::Gray(b)) => b,
        Ok(other) => {
            return Err(Error::parse(
                path,
                None,
                format!("GeoTIFF colour type {other:?} is not supported (single-band grey only)"),
            ))
        }
        Err(e) => return Err(tiff_err(path, "colour type", e)),
    };
    let img = dec
        .read_image()
        .map_err(|e| tiff_err(path, "pixel data", e))?;
    let img = match img {
        // 1-, 2- and 4-bit images (GDAL's NBITS) come packed, rows padded to whole bytes.
        DecodingResult::U8(packed) if bits < 8 => {
            DecodingResult::U8(unpack_bits(path, &packed, bits, &header.grid)?)
        }
        other => other,
    };
    let img = match u8::from_decoded(img) {
        Ok(v) => return Ok(AnyRaster::U8(finish(path, header, v)?)),
        Err(d) => d,
    };
    let img = match i16::from_decoded(img) {
        Ok(v) => return Ok(AnyRaster::I16(finish(path, header, v)?)),
        Err(d) => d,
    };
    let img = match f32::from_decoded(img) {
        Ok(v) => return Ok(AnyRaster::F32(finish(path, header, v)?)),
        Err(d) => d,
    };
    match f64::from_decoded(img) {
        Ok(v) => Ok(AnyRaster::F64(finish(path, header, v)?)),
        Err(d) => Err(Error::parse(
            path,
            None,
            format!(
                "GeoTIFF pixel type {} is not supported (u8, i16, f32, f64)",
                decoded_type(&d)
            ),
        )),
    }
}

/// Unpack MSB-first sub-byte samples (1, 2 or 4 bits) into one byte per pixel.
fn unpack_bits(path: &Path, packed: &[u8], bits: u8, grid: &RasterGrid) -> Result<Vec<u8>> {
    if !matches!(bits, 1 | 2 | 4) {
        return Err(Error::parse(
            path,
            None,
            format!("{bits}-bit samples are not supported"),
        ));
    }
    let bits = bits as usize;
    let row_bytes = (grid.cols * bits).div_ceil(8);
    if packed.len() < row_bytes * grid.rows {
        return Err(Error::parse(
            path,
            None,
            format!(
                "{bits}-bit pixel data holds {} bytes, expected {}",
                packed.len(),
                row_bytes * grid.rows
            ),
        ));
    }
    let mask = ((1u16 << bits) - 1) as u8;
    let mut out = Vec::with_capacity(grid.len());
    for r in 0..grid.rows {
        let row = &packed[r * row_bytes..(r + 1) * row_bytes];
        for c in 0..grid.cols {
            let bit = c * bits;
            let shift = 8 - bits - (bit % 8);
            out.push((row[bit / 8] >> shift) & mask);
        }
    }
    Ok(out)
}

/// A pixel type that calimap writes to GeoTIFF.
pub trait GeoTiffWritable: RasterValue {
    #[doc(hidden)]
    fn encode<W: Write + Seek>(
        enc: &mut TiffEncoder<W>,
        grid: &RasterGrid,
        data: &[Self],
        nodata: Option<Self>,
    ) -> tiff::TiffResult<()>;
}

fn geokeys(crs: Crs) -> Vec<u16> {
    // Header: KeyDirectoryVersion 1, KeyRevision 1.0, then the number of keys.
    let mut keys: Vec<[u16; 4]> = Vec::new();
    match crs {
        Crs::Geographic(code) => {
            keys.push([KEY_MODEL_TYPE, 0, 1, 2]);
            keys.push([KEY_RASTER_TYPE, 0, 1, 1]);
            keys.push([KEY_GEOGRAPHIC_TYPE, 0, 1, code]);
        }
        Crs::Projected(code) => {
            keys.push([KEY_MODEL_TYPE, 0, 1, 1]);
            keys.push([KEY_RASTER_TYPE, 0, 1, 1]);
            keys.push([KEY_PROJECTED_TYPE, 0, 1, code]);
        }
        Crs::Unknown => {
            keys.push([KEY_RASTER_TYPE, 0, 1, 1]);
        }
    }
    let mut out = vec![1, 1, 0, keys.len() as u16];
    for k in keys {
        out.extend_from_slice(&k);
    }
    out
}

macro_rules! writable {
    ($t:ty, $ct:ty) => {
        impl GeoTiffWritable for $t {
            fn encode<W: Write + Seek>(
                enc: &mut TiffEncoder<W>,
                grid: &RasterGrid,
                data: &[Self],
                nodata: Option<Self>,
            ) -> tiff::TiffResult<()> {
                let mut img = enc.new_image::<$ct>(grid.cols as u32, grid.rows as u32)?;
                let t = &grid.transform;
                let d = img.encoder();
                d.write_tag(Tag::Unknown(TAG_PIXEL_SCALE), &[t.dx, t.dy, 0.0][..])?;
                d.write_tag(
                    Tag::Unknown(TAG_TIEPOINT),
                    &[0.0, 0.0, 0.0, t.x_origin, t.y_origin, 0.0][..],
                )?;
                d.write_tag(Tag::Unknown(TAG_GEOKEYS), &geokeys(grid.crs)[..])?;
                if let Some(nd) = nodata {
                    d.write_tag(Tag::Unknown(TAG_GDAL_NODATA), nd.format_nodata().as_str())?;
                }
                img.write_data(data)
            }
        }
    };
}

writable!(u8, colortype::Gray8);
writable!(f32, colortype::Gray32Float);

/// Write a raster as a single-band, LZW-compressed GeoTIFF, atomically.
pub fn write_geotiff<T: GeoTiffWritable>(path: impl AsRef<Path>, raster: &Raster<T>) -> Result<()>
where
    [T]: TiffValue,
{
    let path = path.as_ref();
    if raster.data.len() != raster.grid.len() || raster.grid.is_empty() {
        return Err(Error::Grid(format!(
            "{}: cannot write {} values on a {} x {} grid",
            path.display(),
            raster.data.len(),
            raster.grid.cols,
            raster.grid.rows
        )));
    }
    let t = &raster.grid.transform;
    if !(t.dx > 0.0 && t.dy > 0.0 && t.x_origin.is_finite() && t.y_origin.is_finite()) {
        return Err(Error::Grid(format!(
            "{}: invalid transform {t:?} (pixel sizes must be positive and origins finite)",
            path.display()
        )));
    }
    // The encoder needs Seek, so the image is assembled in memory first.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut buf)
            .map_err(|e| tiff_err(path, "encoder", e))?
            .with_compression(Compression::Lzw);
        T::encode(&mut enc, &raster.grid, &raster.data, raster.nodata)
            .map_err(|e| tiff_err(path, "encoding", e))?;
    }
    let bytes = buf.into_inner();
    write_atomic(path, |w| {
        w.write_all(&bytes).map_err(|e| Error::io(path, e))
    })
}
