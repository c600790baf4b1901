//! The gridded hindcast: every active cell of a domain, for one or more
//! parameter sets ("members"), spun up and run through the transient years,
//! then turned into annual frozen-ground maps.
//!
//! Recipe of [`run_hindcast`]:
//! 1. write the run manifest (resolved experiment, seed, version, checksums
//!    of the experiment, parameter-set, static and forcing files) before
//!    anything long starts, and derive the run's fingerprint from it;
//! 2. split the active cells (row-major) into chunks whose forcing fits the
//!    domain's memory budget; a `--tile i/n` run takes only its contiguous,
//!    balanced share of the cells (`domain::distributed::tile_range`);
//! 3. for each chunk, reuse its checkpoint under `out/.partial/` when one with
//!    the same fingerprint exists, else read its forcing and run every
//!    (cell, member) pair in parallel, then checkpoint it atomically;
//! 4. reduce each chunk at once to annual diagnostics per member and for the
//!    ensemble mean (the members' annual mean / maximum / minimum temperature
//!    profiles averaged per cell and year, *then* classified, as published),
//!    plus the agreement and ALT-spread maps; a tiled run instead appends the
//!    chunk's full annual profile statistics to `tiles/tile-<i>-of-<n>.bin`;
//! 5. write the products (below) and remove the checkpoints.
//!
//! [`merge_tiles`] reads the tile files of a tiled run, checks that every
//! tile is there and that the experiment and its inputs are unchanged, and
//! writes exactly the products of an untiled run (the same reduction, the
//! same writers).
//!
//! # Products (in the output folder)
//! - `class_<year>.tif`: the frozen-ground class of the ensemble mean (or of
//!   the single member) per transient year, u8 GeoTIFF, EPSG:4326, LZW;
//!   values 1 permafrost, 2 seasonally frozen ground, 3 non-frozen; nodata
//!   **255** (lakes, glaciers, cells outside the cell subset, failed cells);
//! - `members/<name>/class_<year>.tif`: the same per member (ensembles only);
//! - `agreement/agreement_<year>.tif`: share of members that simulate
//!   permafrost (0-1, f32) and `agreement/alt_spread_<year>.tif`: the
//!   population standard deviation (m, f32) of ALT over the members that
//!   simulate permafrost there; nodata -9999 (ensembles only);
//! - `hindcast.nc`: CF-1.8 netCDF with dimensions (member, time, lat, lon) and
//!   fields class, alt, magt, ttop, gt10m; for an ensemble the members are
//!   followed by a last member named `ensemble-mean`; a single run has one
//!   member;
//! - `class_<last year>.png` (and `agreement.png`, `alt_spread.png` for
//!   ensembles): maps of the last year;
//! - `failures.csv`: `member,row,col,lat,lon,message` of every failed
//!   (member, cell) run; the ensemble mean (and agreement, spread) of a cell
//!   where any member failed is nodata and listed as member `ensemble-mean`;
//! - `summary.json`: counts and per-year permafrost area, mean ALT and MAGT.
//!
//! Every product is a pure function of the inputs: byte-identical for any
//! thread count, chunking or tiling (no timestamps in data files; the
//! netCDF `history` names the program only). Only `manifest.json` records
//! when and how the run started.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::domain::{cell_overrides, take_tbot_offset, CellStats, DomainSetup, Overrides};
use super::model::{column_config, ColumnSite};
use crate::column::config::ColumnConfig;
use crate::config::hindcast::ENSEMBLE_MEAN;
use crate::diagnostics::annual::try_annual_diagnostics;
use crate::diagnostics::{AnnualDiagnostics, AnnualProfileStats, FrozenClass};
use crate::domain::distributed::{Engine, LocalEngine};
use crate::forcing::netcdf::GriddedForcing;
use crate::io::atomic::{write_bytes_atomic, AtomicPath};
use crate::io::geotiff::{write_geotiff, Raster, RasterGrid};
use crate::io::manifest::RunManifest;
use crate::io::netcdf_out::{write_annual_netcdf, AnnualMapStack, NetcdfMeta, FLOAT_FILL};
use crate::{Error, Result};

// ---------------------------------------------------------------------------
// Parameter sets
// ---------------------------------------------------------------------------

/// The members of a run: (name, parameter overrides), in product order.
pub type Members = Vec<(String, Overrides)>;

#[derive(Deserialize)]
struct RawParameterSet {
    name: Option<toml::Value>,
    values: Option<BTreeMap<String, toml::Spanned<toml::Value>>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Read a parameter-set file (as written by
/// [`super::calibration::write_parameter_set`]): its `name` (the file stem
/// when absent) and its `[values]` table of `ColumnConfig::set` keys and
/// numbers (`"soil.bb[7]" = 5.1`, `"general.csoil" = 2.0e6`). Other
/// top-level keys (e.g. a calibration's score) are ignored. Keys come back
/// sorted, so a per-class key (`soil.bb[7]`) follows its all-classes form
/// (`soil.bb`) and wins over it. Errors name the file, the line and the key.
pub fn read_parameter_set(path: &Path) -> Result<(String, Overrides)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let raw: RawParameterSet =
        toml::from_str(&text).map_err(|e| crate::config::toml_error(path, &text, e))?;
    let values = raw.values.ok_or_else(|| {
        Error::parse(
            path,
            None,
            "no [values] table of parameter keys and numbers",
        )
    })?;
    let mut out = Vec::with_capacity(values.len());
    for (key, v) in values {
        let line = line_of(&text, v.span().start);
        let x = match v.get_ref() {
            toml::Value::Float(x) => *x,
            toml::Value::Integer(i) => *i as f64,
            other => {
                return Err(Error::parse(
                    path,
                    Some(line),
                    format!("values.\"{key}\": expected a number, got `{other}`"),
                ))
            }
        };
        if !x.is_finite() {
            return Err(Error::parse(
                path,
                Some(line),
                format!("values.\"{key}\": {x} is not finite"),
            ));
        }
        out.push((key, x));
    }
    let name = match raw.name {
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Some(toml::Value::String(s)) => s,
        Some(other) => {
            return Err(Error::parse(
                path,
                None,
                format!("name: expected a string, got `{other}`"),
            ))
        }
    };
    Ok((name, out))
}

fn base_config(setup: &DomainSetup, cell: (usize, usize)) -> Result<ColumnConfig> {
    let i = cell.0 * setup.grid().nx + cell.1;
    let (lat, _) = setup.grid().centre(cell.0, cell.1);
    let site = ColumnSite {
        layers: Some(setup.layers.clone()),
        soil_classes: Some(setup.soil_profile(cell)),
        veg_class: Some(setup.maps.vegetation[i] as usize),
        latitude: lat,
        // Any plausible TBOT: the configuration only serves to check keys.
        tbot: Some(270.0),
        z_temp: 2.0,
        z_wind: 10.0,
    };
    let mut model = setup.model.clone();
    model.soil_classes = None;
    model.veg_class = None;
    column_config(&setup.experiment, &model, &setup.tables, &site, None, &[])
}

/// Check that every key of a member's parameter set is a parameter of the
/// model and that class-indexed keys name a class some active cell has.
/// Errors name `file` (the parameter-set file, or the experiment) and the key.
pub fn check_overrides(
    setup: &DomainSetup,
    file: &Path,
    overrides: &[(String, f64)],
) -> Result<()> {
    // One configuration per distinct (soil profile, vegetation class) of the active cells.
    let mut kinds: Vec<(Vec<usize>, usize, (usize, usize))> = Vec::new();
    for &c in setup.cells() {
        let p = setup.soil_profile(c);
        let v = setup.maps.vegetation[c.0 * setup.grid().nx + c.1] as usize;
        if !kinds.iter().any(|(q, w, _)| *q == p && *w == v) {
            kinds.push((p, v, c));
        }
    }
    let configs: Vec<(Vec<usize>, usize, ColumnConfig)> = kinds
        .into_iter()
        .map(|(p, v, c)| base_config(setup, c).map(|cfg| (p, v, cfg)))
        .collect::<Result<_>>()?;
    for (key, value) in overrides {
        let one = [(key.clone(), *value)];
        let mut applied = false;
        for (profile, veg, cfg) in &configs {
            let mut local = cell_overrides(&one, profile, *veg);
            if local.is_empty() {
                continue;
            }
            let mut site = ColumnSite {
                tbot: Some(270.0),
                ..Default::default()
            };
            take_tbot_offset(&mut local, &mut site);
            let mut cfg = cfg.clone();
            for (k, v) in &local {
                cfg.set(k, *v)
                    .map_err(|e| Error::config(file, key.as_str(), e.to_string()))?;
            }
            if !value.is_finite() {
                return Err(Error::config(file, key.as_str(), "value is not finite"));
            }
            applied = true;
            break;
        }
        if !applied {
            return Err(Error::config(
                file,
                key.as_str(),
                "no active cell of the domain has this class; remove the key",
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Tiles
// ---------------------------------------------------------------------------

/// One tile of the active cells: tile `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileSpec {
    /// 1-based tile number.
    pub index: usize,
    /// Number of tiles.
    pub count: usize,
}

impl TileSpec {
    /// Parse `i/n` as given to `--tile`.
    pub fn parse(text: &str) -> Result<Self> {
        crate::domain::distributed::parse_tile(text).map(|t| Self {
            index: t.index,
            count: t.count,
        })
    }

    /// The cell indices of this tile among `n_cells` active cells.
    pub fn range(&self, n_cells: usize) -> Range<usize> {
        crate::domain::distributed::tile_range(n_cells, self.index.saturating_sub(1), self.count)
    }

    /// The tile file's name, `tile-<i>-of-<n>.bin`.
    pub fn file_name(&self) -> String {
        format!("tile-{}-of-{}.bin", self.index, self.count)
    }
}

/// The outcome of every member at a contiguous run of active cells: what a
/// tile, a checkpoint or an MPI rank hands back. Outcomes are indexed
/// `[cell][member]`; a failed run carries its message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TileResult {
    /// Index of the first cell in the domain's active-cell list.
    pub first: usize,
    /// The cells, `(row, col)`.
    pub cells: Vec<(usize, usize)>,
    /// `[cell][member]` annual statistics or error message.
    pub outcomes: Vec<Vec<std::result::Result<CellStats, String>>>,
}

/// Run every member at the active cells `range` (indices into
/// `setup.cells()`) on this machine; the caller keeps the range within the
/// memory budget. `progress` gets the pairs finished. Results do not depend
/// on the thread count.
pub fn run_cells(
    setup: &DomainSetup,
    members: &[(String, Overrides)],
    range: Range<usize>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<TileResult> {
    run_cells_on(&LocalEngine::default(), setup, members, range, progress)
}

/// [`run_cells`] through `engine` (rank 0; the other ranks serve through
/// [`crate::workflow::domain::serve_domain`]): the outcomes of every member
/// at the cells `range`, gathered in cell order.
pub fn run_cells_on<E: Engine + ?Sized>(
    engine: &E,
    setup: &DomainSetup,
    members: &[(String, Overrides)],
    range: Range<usize>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<TileResult> {
    let cells = setup.cells()[range.clone()].to_vec();
    let overrides: Vec<Overrides> = members.iter().map(|(_, o)| o.clone()).collect();
    let runs = setup.run_on(engine, &cells, &overrides, Some(&|d, _| progress(d)))?;
    // [member][cell] -> [cell][member]
    let mut by_member: Vec<_> = runs.into_iter().map(Vec::into_iter).collect();
    let outcomes = (0..cells.len())
        .map(|_| {
            by_member
                .iter_mut()
                .map(|m| {
                    m.next()
                        .map(|o| o.result)
                        .unwrap_or_else(|| Err("no outcome".into()))
                })
                .collect()
        })
        .collect();
    Ok(TileResult {
        first: range.start,
        cells,
        outcomes,
    })
}

// ---------------------------------------------------------------------------
// Tile and checkpoint files
// ---------------------------------------------------------------------------

const MAGIC: &[u8; 16] = b"calimap-tiles-v1";
/// Block marker; blocks of version 1 (still read) carry no thaw-equivalent maxima.
const BLOCK: &[u8; 4] = b"BLK2";
const BLOCK_V1: &[u8; 4] = b"BLK1";
const END: &[u8; 4] = b"END1";

/// What a tile or checkpoint file holds, and for which run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TileHeader {
    /// Fingerprint of the run (experiment, members, inputs, cells, years).
    pub fingerprint: String,
    /// The experiment file.
    pub experiment: PathBuf,
    /// The tile (1/1 for an untiled run's checkpoints).
    pub tile: TileSpec,
    /// First active-cell index covered by the file.
    pub first: usize,
    /// Number of cells covered.
    pub n_cells: usize,
    /// Number of active cells of the domain.
    pub total_cells: usize,
    /// Member names.
    pub members: Vec<String>,
    /// Transient years.
    pub years: Vec<i32>,
    /// calimap version that wrote the file.
    pub calimap_version: String,
}

fn put_u32(w: &mut Vec<u8>, x: usize) -> Result<()> {
    let x = u32::try_from(x)
        .map_err(|_| Error::Other(format!("tile file: {x} does not fit 32 bits")))?;
    w.extend_from_slice(&x.to_le_bytes());
    Ok(())
}

fn put_f64s(w: &mut Vec<u8>, v: &[f64]) {
    for x in v {
        w.extend_from_slice(&x.to_le_bytes());
    }
}

/// Binary form of one block (little-endian; floats bit for bit).
fn encode_block(t: &TileResult) -> Result<Vec<u8>> {
    let mut w = Vec::new();
    w.extend_from_slice(BLOCK);
    w.extend_from_slice(&(t.first as u64).to_le_bytes());
    put_u32(&mut w, t.cells.len())?;
    put_u32(&mut w, t.outcomes.first().map_or(0, |o| o.len()))?;
    for (&(r, c), outs) in t.cells.iter().zip(&t.outcomes) {
        put_u32(&mut w, r)?;
        put_u32(&mut w, c)?;
        for o in outs {
            match o {
                Ok(stats) => {
                    w.push(0);
                    put_u32(&mut w, stats.len())?;
                    for s in stats {
                        w.extend_from_slice(&s.year.to_le_bytes());
                        w.extend_from_slice(&s.seconds.to_le_bytes());
                        put_u32(&mut w, s.depths.len())?;
                        for v in [&s.depths, &s.t_mean, &s.t_max, &s.t_min] {
                            if v.len() != s.depths.len() {
                                return Err(Error::Other(format!(
                                    "cell ({r}, {c}) year {}: ragged profile statistics",
                                    s.year
                                )));
                            }
                            put_f64s(&mut w, v);
                        }
                        if !s.thaw_max.is_empty() && s.thaw_max.len() != s.depths.len() {
                            return Err(Error::Other(format!(
                                "cell ({r}, {c}) year {}: ragged profile statistics",
                                s.year
                            )));
                        }
                        put_u32(&mut w, s.thaw_max.len())?;
                        put_f64s(&mut w, &s.thaw_max);
                    }
                }
                Err(msg) => {
                    w.push(1);
                    put_u32(&mut w, msg.len())?;
                    w.extend_from_slice(msg.as_bytes());
                }
            }
        }
    }
    Ok(w)
}

struct Cursor<'a> {
    path: &'a Path,
    r: &'a mut dyn Read,
}

impl Cursor<'_> {
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut b = vec![0u8; n];
        self.r.read_exact(&mut b).map_err(|e| {
            Error::parse(
                self.path,
                None,
                format!("truncated or unreadable tile file: {e}"),
            )
        })?;
        Ok(b)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|e| {
            Error::parse(
                self.path,
                None,
                format!("truncated or unreadable tile file: {e}"),
            )
        })?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.arr()?) as usize)
    }
    fn f64s(&mut self, n: usize) -> Result<Vec<f64>> {
        (0..n)
            .map(|_| Ok(f64::from_le_bytes(self.arr()?)))
            .collect()
    }
}

fn decode_block_body(c: &mut Cursor<'_>, with_thaw: bool) -> Result<TileResult> {
    let first = u64::from_le_bytes(c.arr()?) as usize;
    let n = c.u32()?;
    let nm = c.u32()?;
    let mut cells = Vec::with_capacity(n);
    let mut outcomes = Vec::with_capacity(n);
    for _ in 0..n {
        let r = c.u32()?;
        let col = c.u32()?;
        cells.push((r, col));
        let mut outs = Vec::with_capacity(nm);
        for _ in 0..nm {
            let tag: [u8; 1] = c.arr()?;
            match tag[0] {
                0 => {
                    let ny = c.u32()?;
                    let mut stats = Vec::with_capacity(ny);
                    for _ in 0..ny {
                        let year = i32::from_le_bytes(c.arr()?);
                        let seconds = f64::from_le_bytes(c.arr()?);
                        let nl = c.u32()?;
                        let depths = c.f64s(nl)?;
                        let t_mean = c.f64s(nl)?;
                        let t_max = c.f64s(nl)?;
                        let t_min = c.f64s(nl)?;
                        let thaw_max = if with_thaw {
                            let nt = c.u32()?;
                            if nt != 0 && nt != nl {
                                return Err(Error::parse(
                                    c.path,
                                    None,
                                    format!("corrupt tile file: {nt} thaw maxima for {nl} layers"),
                                ));
                            }
                            c.f64s(nt)?
                        } else {
                            Vec::new()
                        };
                        stats.push(AnnualProfileStats {
                            year,
                            depths,
                            t_mean,
                            t_max,
                            t_min,
                            thaw_max,
                            seconds,
                        });
                    }
                    outs.push(Ok(stats));
                }
                1 => {
                    let len = c.u32()?;
                    let b = c.bytes(len)?;
                    outs.push(Err(String::from_utf8_lossy(&b).into_owned()));
                }
                t => {
                    return Err(Error::parse(
                        c.path,
                        None,
                        format!("corrupt tile file: outcome tag {t}"),
                    ))
                }
            }
        }
        outcomes.push(outs);
    }
    Ok(TileResult {
        first,
        cells,
        outcomes,
    })
}

/// A tile or checkpoint file being written: header, blocks, end marker;
/// it appears under its name only once finished.
struct TileWriter {
    ap: AtomicPath,
    w: BufWriter<std::fs::File>,
}

impl TileWriter {
    fn create(path: &Path, header: &TileHeader) -> Result<Self> {
        let ap = AtomicPath::new(path)?;
        let f = std::fs::File::create(ap.temp()).map_err(|e| Error::io(ap.temp(), e))?;
        let mut w = BufWriter::new(f);
        let h = serde_json::to_vec(header).map_err(|e| Error::Other(e.to_string()))?;
        let mut head = Vec::with_capacity(h.len() + 24);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&(h.len() as u64).to_le_bytes());
        head.extend_from_slice(&h);
        w.write_all(&head).map_err(|e| Error::io(path, e))?;
        Ok(Self { ap, w })
    }

    fn append(&mut self, t: &TileResult) -> Result<()> {
        let b = encode_block(t)?;
        let dest = self.ap.dest().to_path_buf();
        self.w.write_all(&b).map_err(|e| Error::io(dest, e))
    }

    fn finish(mut self) -> Result<()> {
        let dest = self.ap.dest().to_path_buf();
        self.w.write_all(END).map_err(|e| Error::io(&dest, e))?;
        self.w.flush().map_err(|e| Error::io(&dest, e))?;
        drop(self.w);
        self.ap.commit()
    }
}

/// Write a tile or checkpoint file (header, then `blocks` in order) atomically:
/// what a gathering runner (MPI rank 0) or a test hands to [`merge_tiles`].
pub fn write_tile_file(path: &Path, header: &TileHeader, blocks: &[TileResult]) -> Result<()> {
    let mut w = TileWriter::create(path, header)?;
    for b in blocks {
        w.append(b)?;
    }
    w.finish()
}

/// A tile or checkpoint file opened for reading, block by block.
pub struct TileReader {
    path: PathBuf,
    r: BufReader<std::fs::File>,
    /// The file's header.
    pub header: TileHeader,
    done: bool,
}

impl TileReader {
    /// Open a file and read its header.
    pub fn open(path: &Path) -> Result<Self> {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut r = BufReader::new(f);
        let header = {
            let mut c = Cursor { path, r: &mut r };
            let magic: [u8; 16] = c.arr()?;
            if &magic != MAGIC {
                return Err(Error::parse(path, None, "not a calimap tile file"));
            }
            let n = u64::from_le_bytes(c.arr()?) as usize;
            if n > 1 << 30 {
                return Err(Error::parse(path, None, "corrupt tile file header"));
            }
            let h = c.bytes(n)?;
            serde_json::from_slice::<TileHeader>(&h)
                .map_err(|e| Error::parse(path, None, format!("tile file header: {e}")))?
        };
        Ok(Self {
            path: path.to_path_buf(),
            r,
            header,
            done: false,
        })
    }

    /// The next block, `None` after the end marker.
    pub fn next_block(&mut self) -> Result<Option<TileResult>> {
        if self.done {
            return Ok(None);
        }
        let mut c = Cursor {
            path: &self.path,
            r: &mut self.r,
        };
        let tag: [u8; 4] = c.arr()?;
        if &tag == END {
            self.done = true;
            return Ok(None);
        }
        if &tag != BLOCK && &tag != BLOCK_V1 {
            return Err(Error::parse(
                &self.path,
                None,
                "corrupt tile file: bad block marker",
            ));
        }
        decode_block_body(&mut c, &tag == BLOCK).map(Some)
    }

    /// Every block, checked to cover the header's cells in order.
    pub fn read_all(mut self) -> Result<Vec<TileResult>> {
        let mut out = Vec::new();
        let mut next = self.header.first;
        while let Some(b) = self.next_block()? {
            if b.first != next {
                return Err(Error::parse(
                    &self.path,
                    None,
                    format!("block starts at cell {} instead of {next}", b.first),
                ));
            }
            next += b.cells.len();
            out.push(b);
        }
        if next != self.header.first + self.header.n_cells {
            return Err(Error::parse(
                &self.path,
                None,
                "the file holds fewer cells than its header says",
            ));
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Reduction to maps
// ---------------------------------------------------------------------------

/// Diagnostics of every transient year of one run; errors when a year is
/// missing or partial.
fn diagnostics_series(
    stats: &[AnnualProfileStats],
    years: &[i32],
) -> std::result::Result<Vec<AnnualDiagnostics>, String> {
    if stats.len() != years.len() || stats.iter().zip(years).any(|(s, y)| s.year != *y) {
        return Err(format!(
            "expected the years {:?}, the run gave {:?}",
            years,
            stats.iter().map(|s| s.year).collect::<Vec<_>>()
        ));
    }
    let mut out = Vec::with_capacity(stats.len());
    for (i, s) in stats.iter().enumerate() {
        let prev = if i > 0 { Some(&stats[i - 1]) } else { None };
        out.push(try_annual_diagnostics(s, prev, None).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Element-wise mean written as `x0 + sum(x_i - x0) / n`: identical to the
/// members when they are all equal, whatever their number.
fn mean_of(vs: &[&[f64]]) -> Vec<f64> {
    let n = vs.len() as f64;
    let x0 = vs[0];
    (0..x0.len())
        .map(|k| x0[k] + vs[1..].iter().map(|v| v[k] - x0[k]).sum::<f64>() / n)
        .collect()
}

/// The ensemble-mean annual statistics: per year, the members' mean, maximum
/// and minimum temperature profiles averaged over the members.
pub fn ensemble_mean_stats(members: &[&CellStats]) -> std::result::Result<CellStats, String> {
    let first = members.first().ok_or("no member to average")?;
    let mut out = Vec::with_capacity(first.len());
    for (t, s0) in first.iter().enumerate() {
        let mut ys: Vec<&AnnualProfileStats> = Vec::with_capacity(members.len());
        for m in members {
            let s = m.get(t).ok_or("members ran different numbers of years")?;
            if s.year != s0.year || s.depths != s0.depths {
                return Err("members have other years or layers".into());
            }
            ys.push(s);
        }
        let pick = |f: fn(&AnnualProfileStats) -> &[f64]| {
            mean_of(&ys.iter().map(|s| f(s)).collect::<Vec<_>>())
        };
        out.push(AnnualProfileStats {
            year: s0.year,
            depths: s0.depths.clone(),
            t_mean: pick(|s| &s.t_mean),
            t_max: pick(|s| &s.t_max),
            t_min: pick(|s| &s.t_min),
            thaw_max: if ys.iter().all(|s| s.thaw_max.len() == s0.depths.len()) {
                pick(|s| &s.thaw_max)
            } else {
                Vec::new()
            },
            seconds: s0.seconds,
        });
    }
    Ok(out)
}

/// One failed (member, cell) run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    pub member: String,
    pub row: usize,
    pub col: usize,
    pub message: String,
}

/// Per-year figures of one member (or the ensemble mean) in `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct YearFigures {
    pub year: i32,
    /// Cells classified (not nodata).
    pub cells: usize,
    /// Cells with permafrost.
    pub permafrost_cells: usize,
    /// Share of the classified cells with permafrost.
    pub permafrost_fraction: f64,
    /// Mean ALT over the permafrost cells (m).
    pub mean_alt_m: Option<f64>,
    /// Mean MAGT over the classified cells (degC).
    pub mean_magt_c: Option<f64>,
}

/// What a hindcast produced (`summary.json`).
#[derive(Clone, Debug, Serialize)]
pub struct HindcastSummary {
    /// Output folder.
    pub output: PathBuf,
    /// `i/n` for a tiled run (which writes its tile file instead of products).
    pub tile: Option<String>,
    /// Active cells run (all of them, or the tile's).
    pub cells: usize,
    /// Member names.
    pub members: Vec<String>,
    /// Transient years.
    pub years: Vec<i32>,
    /// (member, cell) runs that failed.
    pub failed_runs: usize,
    /// Per member (and `ensemble-mean` for ensembles), per year.
    pub figures: BTreeMap<String, Vec<YearFigures>>,
    /// Files written, relative to the output folder, sorted.
    pub products: Vec<String>,
}

/// Collects reduced chunks into the product maps.
struct Products {
    grid: RasterGrid,
    years: Vec<i32>,
    names: Vec<String>,
    stack: AnnualMapStack,
    agreement: Vec<f32>,
    spread: Vec<f32>,
    failures: Vec<Failure>,
    cells: usize,
}

impl Products {
    fn new(setup: &DomainSetup, names: &[String]) -> Result<Self> {
        let grid = RasterGrid::from_grid(setup.grid())?;
        let years = setup.years();
        let mut stack_names = names.to_vec();
        if names.len() > 1 {
            stack_names.push(ENSEMBLE_MEAN.to_string());
        }
        let n = years.len() * grid.len();
        Ok(Self {
            stack: AnnualMapStack::new(grid, years.clone(), stack_names),
            grid,
            years,
            names: names.to_vec(),
            agreement: vec![f32::NAN; n],
            spread: vec![f32::NAN; n],
            failures: Vec::new(),
            cells: 0,
        })
    }

    fn ensemble(&self) -> bool {
        self.names.len() > 1
    }

    fn add(&mut self, t: &TileResult) -> Result<()> {
        let nm = self.names.len();
        for (&(r, c), outs) in t.cells.iter().zip(&t.outcomes) {
            if outs.len() != nm {
                return Err(Error::Other(format!(
                    "cell ({r}, {c}): {} outcomes for {nm} members",
                    outs.len()
                )));
            }
            self.cells += 1;
            let mut diags: Vec<Option<Vec<AnnualDiagnostics>>> = Vec::with_capacity(nm);
            for (m, o) in outs.iter().enumerate() {
                let d = match o {
                    Ok(stats) => diagnostics_series(stats, &self.years),
                    Err(msg) => Err(msg.clone()),
                };
                match d {
                    Ok(d) => {
                        for y in &d {
                            self.stack.set(m, r, c, y)?;
                        }
                        diags.push(Some(d));
                    }
                    Err(message) => {
                        self.failures.push(Failure {
                            member: self.names[m].clone(),
                            row: r,
                            col: c,
                            message,
                        });
                        diags.push(None);
                    }
                }
            }
            if !self.ensemble() {
                continue;
            }
            let failed: Vec<&str> = diags
                .iter()
                .zip(&self.names)
                .filter(|(d, _)| d.is_none())
                .map(|(_, n)| n.as_str())
                .collect();
            let mean = if failed.is_empty() {
                let stats: Vec<&CellStats> = outs.iter().filter_map(|o| o.as_ref().ok()).collect();
                ensemble_mean_stats(&stats).and_then(|s| diagnostics_series(&s, &self.years))
            } else {
                Err(format!("member(s) {} failed", failed.join(", ")))
            };
            match mean {
                Ok(d) => {
                    for y in &d {
                        self.stack.set(nm, r, c, y)?;
                    }
                }
                Err(message) => {
                    self.failures.push(Failure {
                        member: ENSEMBLE_MEAN.to_string(),
                        row: r,
                        col: c,
                        message,
                    });
                    continue;
                }
            }
            let diags: Vec<&Vec<AnnualDiagnostics>> = diags.iter().flatten().collect();
            for t in 0..self.years.len() {
                let k = (t * self.grid.rows + r) * self.grid.cols + c;
                let pf = diags
                    .iter()
                    .filter(|d| d[t].class == FrozenClass::Permafrost)
                    .count();
                self.agreement[k] = (pf as f64 / nm as f64) as f32;
                let alts: Vec<f64> = diags.iter().filter_map(|d| d[t].alt).collect();
                if !alts.is_empty() {
                    let n = alts.len() as f64;
                    // shifted by the first value: exactly 0 spread for equal values
                    let mean = alts[0] + alts.iter().map(|a| a - alts[0]).sum::<f64>() / n;
                    let var = alts.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n;
                    self.spread[k] = var.sqrt() as f32;
                }
            }
        }
        Ok(())
    }

    fn figures(&self, m: usize) -> Vec<YearFigures> {
        let g = self.grid.len();
        self.years
            .iter()
            .enumerate()
            .map(|(t, &year)| {
                let base = self.stack.index(m, t, 0, 0);
                let (mut cells, mut pf, mut alt_sum, mut magt_sum, mut magt_n) =
                    (0usize, 0usize, 0.0, 0.0, 0usize);
                for k in base..base + g {
                    if FrozenClass::from_code(self.stack.class[k]).is_none() {
                        continue;
                    }
                    cells += 1;
                    if self.stack.class[k] == 1 {
                        pf += 1;
                        if self.stack.alt[k].is_finite() {
                            alt_sum += self.stack.alt[k] as f64;
                        }
                    }
                    if self.stack.magt[k].is_finite() {
                        magt_sum += self.stack.magt[k] as f64;
                        magt_n += 1;
                    }
                }
                YearFigures {
                    year,
                    cells,
                    permafrost_cells: pf,
                    permafrost_fraction: if cells > 0 {
                        pf as f64 / cells as f64
                    } else {
                        0.0
                    },
                    mean_alt_m: (pf > 0).then(|| alt_sum / pf as f64),
                    mean_magt_c: (magt_n > 0).then(|| magt_sum / magt_n as f64),
                }
            })
            .collect()
    }

    fn f32_raster(&self, data: &[f32], t: usize) -> Result<Raster<f32>> {
        let g = self.grid.len();
        let v = data[t * g..(t + 1) * g]
            .iter()
            .map(|&x| if x.is_finite() { x } else { FLOAT_FILL })
            .collect();
        Raster::new(self.grid, v, Some(FLOAT_FILL))
    }

    /// Write every product into `out`; returns the summary.
    fn write(
        self,
        setup: &DomainSetup,
        out: &Path,
        opts: &HindcastOptions,
    ) -> Result<HindcastSummary> {
        let mut products: Vec<String> = Vec::new();
        let nm = self.names.len();
        let top = if self.ensemble() { nm } else { 0 };
        let mkdir = |d: &Path| std::fs::create_dir_all(d).map_err(|e| Error::io(d, e));
        if opts.outputs.geotiff {
            for (t, y) in self.years.iter().enumerate() {
                write_geotiff(
                    out.join(format!("class_{y}.tif")),
                    &self.stack.class_raster(top, t)?,
                )?;
                products.push(format!("class_{y}.tif"));
            }
            if self.ensemble() {
                for (m, name) in self.names.iter().enumerate() {
                    let dir = out.join("members").join(name);
                    mkdir(&dir)?;
                    for (t, y) in self.years.iter().enumerate() {
                        write_geotiff(
                            dir.join(format!("class_{y}.tif")),
                            &self.stack.class_raster(m, t)?,
                        )?;
                        products.push(format!("members/{name}/class_{y}.tif"));
                    }
                }
                let dir = out.join("agreement");
                mkdir(&dir)?;
                for (t, y) in self.years.iter().enumerate() {
                    write_geotiff(
                        dir.join(format!("agreement_{y}.tif")),
                        &self.f32_raster(&self.agreement, t)?,
                    )?;
                    write_geotiff(
                        dir.join(format!("alt_spread_{y}.tif")),
                        &self.f32_raster(&self.spread, t)?,
                    )?;
                    products.push(format!("agreement/agreement_{y}.tif"));
                    products.push(format!("agreement/alt_spread_{y}.tif"));
                }
            }
        }
        if opts.outputs.netcdf {
            let meta = NetcdfMeta {
                title: opts.title.clone(),
                history: format!("calimap {} hindcast", env!("CARGO_PKG_VERSION")),
                comment: Some(if self.ensemble() {
                    format!("members followed by `{ENSEMBLE_MEAN}`: the members' annual temperature profiles averaged, then classified")
                } else {
                    "a single parameter set".to_string()
                }),
            };
            write_annual_netcdf(out.join("hindcast.nc"), &self.stack, &meta)?;
            products.push("hindcast.nc".into());
        }
        if opts.outputs.png {
            if let (Some(&last), t) = (self.years.last(), self.years.len().saturating_sub(1)) {
                use crate::report::plot;
                let what = if self.ensemble() {
                    "ensemble mean"
                } else {
                    self.names[0].as_str()
                };
                plot::categorical_map(
                    out.join(format!("class_{last}.png")),
                    &self.stack.class_raster(top, t)?,
                    &plot::frozen_ground_classes(),
                    &format!("Frozen ground {last} ({what})"),
                )?;
                products.push(format!("class_{last}.png"));
                if self.ensemble() {
                    let g = self.grid.len();
                    let a: Vec<f64> = self.agreement[t * g..(t + 1) * g]
                        .iter()
                        .map(|&x| x as f64)
                        .collect();
                    plot::continuous_map(
                        out.join("agreement.png"),
                        &self.grid,
                        &a,
                        &format!("Share of members with permafrost {last}"),
                        "share",
                        plot::ColorScale::Viridis,
                        Some((0.0, 1.0)),
                    )?;
                    let s: Vec<f64> = self.spread[t * g..(t + 1) * g]
                        .iter()
                        .map(|&x| x as f64)
                        .collect();
                    plot::continuous_map(
                        out.join("alt_spread.png"),
                        &self.grid,
                        &s,
                        &format!("ALT spread over members {last}"),
                        "m",
                        plot::ColorScale::Viridis,
                        None,
                    )?;
                    products.push("agreement.png".into());
                    products.push("alt_spread.png".into());
                }
            }
        }
        // failures.csv
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| Error::Other(format!("failures.csv: {e}"));
        w.write_record(["member", "row", "col", "lat", "lon", "message"])
            .map_err(csv_err)?;
        for f in &self.failures {
            let (lat, lon) = setup.grid().centre(f.row, f.col);
            w.write_record([
                f.member.clone(),
                f.row.to_string(),
                f.col.to_string(),
                format!("{lat:.4}"),
                format!("{lon:.4}"),
                f.message.clone(),
            ])
            .map_err(csv_err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::Other(format!("failures.csv: {e}")))?;
        write_bytes_atomic(out.join("failures.csv"), &bytes)?;
        products.push("failures.csv".into());
        products.push("summary.json".into());
        products.sort();

        let mut figures = BTreeMap::new();
        for (m, name) in self.names.iter().enumerate() {
            figures.insert(name.clone(), self.figures(m));
        }
        if self.ensemble() {
            figures.insert(ENSEMBLE_MEAN.to_string(), self.figures(nm));
        }
        let summary = HindcastSummary {
            output: out.to_path_buf(),
            tile: None,
            cells: self.cells,
            members: self.names.clone(),
            years: self.years.clone(),
            failed_runs: self
                .failures
                .iter()
                .filter(|f| f.member != ENSEMBLE_MEAN)
                .count(),
            figures,
            products,
        };
        write_summary(out, &summary)?;
        Ok(summary)
    }
}

fn write_summary(out: &Path, s: &HindcastSummary) -> Result<()> {
    // The output folder is left out so that the file does not depend on where it was written.
    let mut v = serde_json::to_value(s).map_err(|e| Error::Other(e.to_string()))?;
    if let Some(o) = v.as_object_mut() {
        o.remove("output");
    }
    let mut json = serde_json::to_vec_pretty(&v).map_err(|e| Error::Other(e.to_string()))?;
    json.push(b'\n');
    write_bytes_atomic(out.join("summary.json"), &json)
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/// Options of [`run_hindcast`] and [`merge_tiles`].
#[derive(Clone, Debug)]
pub struct HindcastOptions {
    /// Product switches.
    pub outputs: crate::config::hindcast::HindcastOutputSection,
    /// Hide the progress bar and messages.
    pub quiet: bool,
    /// Run only this tile and write `tiles/tile-<i>-of-<n>.bin` instead of products.
    pub tile: Option<TileSpec>,
    /// The resolved experiment, recorded in the manifest and the fingerprint.
    pub config: serde_json::Value,
    /// The experiment's seed (recorded; the hindcast itself draws nothing).
    pub seed: Option<u64>,
    /// Further input files to checksum (parameter-set files).
    pub inputs: Vec<PathBuf>,
    /// netCDF title.
    pub title: String,
    /// Keep finished chunks under `out/.partial/` and resume from them.
    pub checkpoint: bool,
}

impl Default for HindcastOptions {
    fn default() -> Self {
        Self {
            outputs: Default::default(),
            quiet: false,
            tile: None,
            config: serde_json::Value::Null,
            seed: None,
            inputs: Vec::new(),
            title: "calimap hindcast: annual frozen-ground maps".into(),
            checkpoint: true,
        }
    }
}

/// The manifest of a run (inputs checksummed) and the fingerprint derived from it.
fn manifest_and_fingerprint(
    setup: &DomainSetup,
    members: &[(String, Overrides)],
    opts: &HindcastOptions,
) -> Result<(RunManifest, String)> {
    let mut manifest = RunManifest::from_config(&opts.config, opts.seed)?;
    if setup.experiment.is_file() {
        manifest.add_input(&setup.experiment)?;
    }
    for p in &opts.inputs {
        manifest.add_input(p)?;
    }
    manifest.add_input(&setup.static_file)?;
    for f in setup.forcing.files() {
        manifest.add_input(&f)?;
    }
    let mut h = Sha256::new();
    h.update(b"calimap hindcast fingerprint v1\n");
    h.update(serde_json::to_vec(&opts.config).map_err(|e| Error::Other(e.to_string()))?);
    for (name, ov) in members {
        h.update(format!("\nmember {name}").as_bytes());
        for (k, v) in ov {
            h.update(format!(" {k}={:016x}", v.to_bits()).as_bytes());
        }
    }
    // Files by name and content, so tiles may run where the data sit elsewhere.
    for i in &manifest.inputs {
        let name = i
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        h.update(format!("\ninput {name} {}", i.sha256).as_bytes());
    }
    h.update(format!("\nyears {:?}\ncells {}", setup.years(), setup.cells().len()).as_bytes());
    for &(r, c) in setup.cells() {
        h.update((r as u32).to_le_bytes());
        h.update((c as u32).to_le_bytes());
    }
    let fp = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((manifest, fp))
}

/// Cells per chunk: what fits the forcing memory budget, and at most about
/// 1/64 of the domain (but at least 16 cells), so checkpoints and progress
/// come often. Depends only on the domain, never on the thread count.
fn chunk_cells(setup: &DomainSetup) -> Result<usize> {
    let p = &setup.period;
    let first = p.spinup[0].min(p.start);
    let last = p.spinup[1].max(p.end);
    let day = |y: i32| {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1)
            .ok_or_else(|| Error::Other(format!("year {y} is out of range")))
    };
    let secs = (day(last + 1)? - day(first)?).num_seconds() as f64;
    let nt = (secs / setup.forcing.dt()).round() as usize;
    let per_tile = GriddedForcing::cells_per_tile(setup.tile_bytes, nt).max(1);
    Ok(per_tile.min(setup.cells().len().div_ceil(64).max(16)))
}

fn progress_bar(total: usize, members: usize, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    let nm = members.max(1) as f64;
    let style = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} cell-member runs, {cps}, ETA {eta}",
    )
    .map(|s| {
        s.with_key(
            "cps",
            move |st: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.2} cells/s", st.per_sec() / nm);
            },
        )
        .progress_chars("=> ")
    });
    if let Ok(s) = style {
        bar.set_style(s);
    }
    bar
}

/// Run a hindcast of `setup` for `members` (name, parameter overrides) into
/// `out`: the manifest first, then the runs (checkpointed under
/// `out/.partial/`, resumed on a rerun), then the products listed in the
/// module documentation. With `opts.tile`, runs only that tile's cells and
/// writes `out/tiles/tile-<i>-of-<n>.bin` (its manifest beside it) for
/// [`merge_tiles`].
pub fn run_hindcast(
    setup: &DomainSetup,
    members: &[(String, Overrides)],
    out: &Path,
    opts: &HindcastOptions,
) -> Result<HindcastSummary> {
    run_hindcast_on(&LocalEngine::default(), setup, members, out, opts)
}

/// [`run_hindcast`] through `engine`, called by rank 0, which writes every
/// file; the other ranks of an MPI engine run their share of the cells
/// inside [`crate::workflow::domain::serve_domain`]. Under MPI, rounds of
/// one chunk per thread of every rank go out at once, and each chunk is
/// checkpointed as its round comes back, so a killed job resumes like a
/// local one (on any number of ranks). The products are the same bytes.
pub fn run_hindcast_on<E: Engine + ?Sized>(
    engine: &E,
    setup: &DomainSetup,
    members: &[(String, Overrides)],
    out: &Path,
    opts: &HindcastOptions,
) -> Result<HindcastSummary> {
    if members.is_empty() {
        return Err(Error::Other("a hindcast needs at least one member".into()));
    }
    let names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;

    // 1. manifest and fingerprint
    let (manifest, fingerprint) = manifest_and_fingerprint(setup, members, opts)?;
    let total_cells = setup.cells().len();
    let tile = opts.tile.unwrap_or(TileSpec { index: 1, count: 1 });
    if tile.index == 0 || tile.index > tile.count {
        return Err(Error::Other(format!(
            "tile {}/{} does not exist",
            tile.index, tile.count
        )));
    }
    let tiles_dir = out.join("tiles");
    if opts.tile.is_some() {
        std::fs::create_dir_all(&tiles_dir).map_err(|e| Error::io(&tiles_dir, e))?;
        manifest.write(tiles_dir.join(format!(
            "tile-{}-of-{}.manifest.json",
            tile.index, tile.count
        )))?;
    } else {
        manifest.write_to_dir(out)?;
    }

    // 2. chunks of this run's cells
    let range = tile.range(total_cells);
    let chunk = chunk_cells(setup)?;
    let chunks: Vec<Range<usize>> = range
        .clone()
        .step_by(chunk)
        .map(|a| a..(a + chunk).min(range.end))
        .collect();
    let header = |first: usize, n: usize| TileHeader {
        fingerprint: fingerprint.clone(),
        experiment: std::path::absolute(&setup.experiment)
            .unwrap_or_else(|_| setup.experiment.clone()),
        tile,
        first,
        n_cells: n,
        total_cells,
        members: names.clone(),
        years: setup.years(),
        calimap_version: env!("CARGO_PKG_VERSION").to_string(),
    };

    let partial = out.join(".partial");
    if opts.checkpoint {
        std::fs::create_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
    }
    let mut tile_writer = match opts.tile {
        Some(t) => Some(TileWriter::create(
            &tiles_dir.join(t.file_name()),
            &header(range.start, range.len()),
        )?),
        None => None,
    };
    let mut products = if opts.tile.is_none() {
        Some(Products::new(setup, &names)?)
    } else {
        None
    };
    let bar = progress_bar(range.len() * members.len(), members.len(), opts.quiet);
    let (mut resumed, mut failed) = (0usize, 0usize);
    let mut written: Vec<PathBuf> = Vec::new();

    // 3-4. run (or resume) each chunk, then reduce or append it
    let ck_path = |c: &Range<usize>| partial.join(format!("cells-{}-{}.bin", c.start, c.end));
    let header_ok = |c: &Range<usize>| -> bool {
        opts.checkpoint
            && ck_path(c).is_file()
            && TileReader::open(&ck_path(c)).is_ok_and(|r| {
                r.header.fingerprint == fingerprint
                    && r.header.first == c.start
                    && r.header.n_cells == c.len()
            })
    };
    let reuse = |c: &Range<usize>| -> Option<TileResult> {
        if !header_ok(c) {
            return None;
        }
        TileReader::open(&ck_path(c))
            .ok()
            .and_then(|r| r.read_all().ok())
            .filter(|b| b.len() == 1)
            .and_then(|mut b| b.pop())
    };
    // Under MPI a round holds a chunk per thread of every rank (at least two
    // per rank), so that all threads stay busy until the round's last group.
    let per_round = if engine.size() > 1 {
        engine.size() * rayon::current_num_threads().max(2)
    } else {
        1
    };
    let nm = members.len();
    let mut k = 0;
    while k < chunks.len() {
        // A finished chunk of an earlier run, or a round of chunks to run.
        let (results, fresh) = match reuse(&chunks[k]) {
            Some(r) => {
                resumed += chunks[k].len();
                bar.inc((chunks[k].len() * nm) as u64);
                (vec![r], false)
            }
            None => {
                let mut j = k + 1;
                while j < chunks.len() && j - k < per_round && !header_ok(&chunks[j]) {
                    j += 1;
                }
                let range = chunks[k].start..chunks[j - 1].end;
                let base = bar.position();
                let all = run_cells_on(engine, setup, members, range, &|d| {
                    bar.set_position(base + d as u64)
                })?;
                let mut outcomes = all.outcomes.into_iter();
                let parts = chunks[k..j]
                    .iter()
                    .map(|c| TileResult {
                        first: c.start,
                        cells: setup.cells()[c.clone()].to_vec(),
                        outcomes: outcomes.by_ref().take(c.len()).collect(),
                    })
                    .collect::<Vec<_>>();
                (parts, true)
            }
        };
        for result in results {
            let c = result.first..result.first + result.cells.len();
            let ck = ck_path(&c);
            if fresh && opts.checkpoint {
                let mut w = TileWriter::create(&ck, &header(c.start, c.len()))?;
                w.append(&result)?;
                w.finish()?;
            }
            if opts.checkpoint {
                written.push(ck);
            }
            failed += result
                .outcomes
                .iter()
                .flatten()
                .filter(|o| o.is_err())
                .count();
            if let Some(w) = tile_writer.as_mut() {
                w.append(&result)?;
            }
            if let Some(p) = products.as_mut() {
                p.add(&result)?;
            }
            k += 1;
        }
    }
    bar.finish_and_clear();
    if resumed > 0 && !opts.quiet {
        eprintln!(
            "resumed {resumed} cells from checkpoints in {}",
            partial.display()
        );
    }

    // 5. products (or the tile file), then drop the checkpoints
    let summary = match (tile_writer, products) {
        (Some(w), _) => {
            w.finish()?;
            HindcastSummary {
                output: out.to_path_buf(),
                tile: Some(format!("{}/{}", tile.index, tile.count)),
                cells: range.len(),
                members: names,
                years: setup.years(),
                failed_runs: failed,
                figures: BTreeMap::new(),
                products: vec![format!("tiles/{}", tile.file_name())],
            }
        }
        (None, Some(p)) => p.write(setup, out, opts)?,
        (None, None) => return Err(Error::Other("nothing to write".into())),
    };
    for f in written {
        let _ = std::fs::remove_file(f);
    }
    let _ = std::fs::remove_dir(&partial);
    Ok(summary)
}

/// The tile files (`tile-<i>-of-<n>.bin`) in a folder and its `tiles/` subfolder.
pub fn find_tile_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for d in [dir.to_path_buf(), dir.join("tiles")] {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.map_err(|e| Error::io(&d, e))?.path();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with("tile-") && name.ends_with(".bin") && p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The header of a tile file.
pub fn read_tile_header(path: &Path) -> Result<TileHeader> {
    TileReader::open(path).map(|r| r.header)
}

/// Merge the tile files of a tiled run of the same experiment into the
/// products of an untiled run, in `out`. Every tile `1..=n` must be present
/// exactly once, and the experiment, members and input files must be those
/// the tiles ran with (same fingerprint).
pub fn merge_tiles(
    setup: &DomainSetup,
    members: &[(String, Overrides)],
    tile_files: &[PathBuf],
    out: &Path,
    opts: &HindcastOptions,
) -> Result<HindcastSummary> {
    let names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let (mut manifest, fingerprint) = manifest_and_fingerprint(setup, members, opts)?;
    if tile_files.is_empty() {
        return Err(Error::Other(format!(
            "no tile files (tile-<i>-of-<n>.bin) found for {}",
            out.display()
        )));
    }
    let total = setup.cells().len();
    let mut by_index: BTreeMap<usize, (PathBuf, TileHeader)> = BTreeMap::new();
    let mut count = None;
    for p in tile_files {
        let h = read_tile_header(p)?;
        if h.fingerprint != fingerprint {
            return Err(Error::Other(format!(
                "{}: this tile was run with another experiment, member set or input data than {} has now (fingerprint differs); rerun the tiles",
                p.display(),
                setup.experiment.display()
            )));
        }
        if *count.get_or_insert(h.tile.count) != h.tile.count {
            return Err(Error::Other(format!(
                "{}: tile {}/{} belongs to a split into {} tiles, others to {}",
                p.display(),
                h.tile.index,
                h.tile.count,
                h.tile.count,
                count.unwrap_or(0)
            )));
        }
        if h.total_cells != total || h.members != names || h.years != setup.years() {
            return Err(Error::Other(format!(
                "{}: cells, members or years differ from the experiment",
                p.display()
            )));
        }
        let want = h.tile.range(total);
        if h.first != want.start || h.n_cells != want.len() {
            return Err(Error::Other(format!(
                "{}: covers cells {}..{}, tile {}/{} should cover {}..{}",
                p.display(),
                h.first,
                h.first + h.n_cells,
                h.tile.index,
                h.tile.count,
                want.start,
                want.end
            )));
        }
        if let Some((q, _)) = by_index.get(&h.tile.index) {
            return Err(Error::Other(format!(
                "tile {}/{} given twice: {} and {}",
                h.tile.index,
                h.tile.count,
                q.display(),
                p.display()
            )));
        }
        by_index.insert(h.tile.index, (p.clone(), h));
    }
    let n = count.unwrap_or(0);
    let missing: Vec<String> = (1..=n)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Other(format!(
            "missing tile(s) {}; run them with `calimap run EXPERIMENT --tile i/{n}` before merging",
            missing.join(", ")
        )));
    }
    for (p, _) in by_index.values() {
        manifest.add_input(p)?;
    }
    manifest.write_to_dir(out)?;
    let mut products = Products::new(setup, &names)?;
    for (p, _) in by_index.values() {
        for block in TileReader::open(p)?.read_all()? {
            products.add(&block)?;
        }
    }
    products.write(setup, out, opts)
}

/// The members of a hindcast experiment: each `[ensemble]` parameter-set file
/// (named by its stem) on top of `model.parameters` if given; without an
/// ensemble, one member named `default` (or after `model.parameters`).
/// Every key is checked against the model.
pub fn hindcast_members(
    setup: &DomainSetup,
    exp_path: &Path,
    h: &crate::config::hindcast::HindcastExperiment,
) -> Result<(Members, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let base: Overrides = match &h.model.parameters {
        Some(p) => {
            let path = crate::config::resolve(exp_path, "model.parameters", p)?;
            let (_, ov) = read_parameter_set(&path)?;
            check_overrides(setup, &path, &ov)?;
            files.push(path);
            ov
        }
        None => Vec::new(),
    };
    if h.members.is_empty() {
        let name = files
            .first()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "default".into());
        return Ok((vec![(name, base)], files));
    }
    let mut members = Vec::with_capacity(h.members.len());
    for (name, path) in &h.members {
        let (_, ov) = read_parameter_set(path)?;
        check_overrides(setup, path, &ov)?;
        let mut all = base.clone();
        all.retain(|(k, _)| !ov.iter().any(|(q, _)| q == k));
        all.extend(ov);
        members.push((name.clone(), all));
        files.push(path.clone());
    }
    Ok((members, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_balanced_contiguous_and_cover_everything() {
        for n in [0usize, 1, 7, 10, 1201] {
            for k in 1..6 {
                let mut next = 0;
                for t in 0..k {
                    let r = TileSpec {
                        index: t + 1,
                        count: k,
                    }
                    .range(n);
                    assert_eq!(r.start, next);
                    assert!(r.len() == n / k || r.len() == n / k + 1);
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
        assert_eq!(
            TileSpec::parse(" 2 / 3").unwrap(),
            TileSpec { index: 2, count: 3 }
        );
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(TileSpec::parse(bad).unwrap_err().to_string().contains(bad));
        }
    }

    #[test]
    fn ensemble_mean_of_equal_members_is_the_member() {
        let s = AnnualProfileStats {
            year: 2001,
            depths: vec![0.05, 0.3, 1.0],
            t_mean: vec![-1.1, -0.7, 0.1 + 0.2],
            t_max: vec![9.3, 2.1, -0.3],
            t_min: vec![-17.0, -8.0, -1.7],
            thaw_max: vec![9.3, 2.1, -4.6],
            seconds: 365.0 * 86400.0,
        };
        let cell = vec![
            s.clone(),
            AnnualProfileStats {
                year: 2002,
                ..s.clone()
            },
        ];
        for n in 1..6 {
            let m = ensemble_mean_stats(&vec![&cell; n]).unwrap();
            assert_eq!(m, cell);
        }
        // the mean of two profiles is their midpoint, computed per layer
        let mut other = cell.clone();
        other[0].t_max = vec![10.3, 3.1, 0.7];
        other[0].thaw_max = vec![10.3, 3.1, 0.7];
        let m = ensemble_mean_stats(&[&cell, &other]).unwrap();
        assert_eq!(m[0].t_max, vec![9.8, 2.6, 0.2]);
        let want = [9.8, 2.6, -1.95];
        for (a, b) in m[0].thaw_max.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{:?}", m[0].thaw_max);
        }
        // a member without thaw maxima leaves the mean without them
        other[0].thaw_max.clear();
        let m = ensemble_mean_stats(&[&cell, &other]).unwrap();
        assert!(m[0].thaw_max.is_empty());
        assert!(ensemble_mean_stats(&[&cell, &cell[..1].to_vec()]).is_err());
    }

    #[test]
    fn block_codec_round_trips_bit_for_bit() {
        let s = AnnualProfileStats {
            year: 2000,
            depths: vec![0.1, 0.5],
            t_mean: vec![f64::NAN, -0.0],
            t_max: vec![1e-310, 3.5],
            t_min: vec![-2.0, f64::MIN_POSITIVE],
            thaw_max: vec![-7.25, 3.5],
            seconds: 31_622_400.0,
        };
        let untracked = AnnualProfileStats {
            thaw_max: Vec::new(),
            ..s.clone()
        };
        let t = TileResult {
            first: 17,
            cells: vec![(3, 4), (3, 5)],
            outcomes: vec![
                vec![Ok(vec![s.clone()]), Err("cell (3, 4): diverged ü".into())],
                vec![Ok(vec![]), Ok(vec![s, untracked])],
            ],
        };
        let b = encode_block(&t).unwrap();
        let mut r: &[u8] = &b[4..];
        let back = decode_block_body(
            &mut Cursor {
                path: Path::new("x"),
                r: &mut r,
            },
            true,
        )
        .unwrap();
        assert!(r.is_empty());
        assert_eq!(encode_block(&back).unwrap(), b);
        assert_eq!(back.cells, t.cells);
        assert_eq!(back.outcomes[0][1], t.outcomes[0][1]);
    }
}
