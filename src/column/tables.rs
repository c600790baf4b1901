//! Noah parameter tables: soil classes (SOILPARM.TBL), vegetation classes
//! (VEGPARM.TBL) and general parameters (GENPARM.TBL), as typed structs with a
//! parser for the Noah text format and a TOML round trip.
//!
//! Units follow the tables (Noah LSM 3.4.1 conventions, already SI): water
//! contents m3 m-3, SATPSI m, SATDK m s-1, SATDW m2 s-1, RS s m-1, Z0 m.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::physics::thermal::SoilKind;
use crate::{Error, Result};

/// One soil class: a row of SOILPARM.TBL (Noah LSM 3.4.1; Cosby et al. 1984
/// Clapp-Hornberger parameters; Noah-Tibet adds gravel and bedrock classes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoilClass {
    /// Class index in the table (1-based).
    pub index: usize,
    /// Class name.
    pub name: String,
    /// Clapp-Hornberger exponent b, BB (-).
    pub bb: f64,
    /// Air-dry soil moisture, DRYSMC (m3 m-3).
    pub drysmc: f64,
    /// Soil-dependent constant F11 of the STAS set (-), or HC of STAS-RUC.
    pub f11: f64,
    /// Porosity (saturated soil moisture), MAXSMC (m3 m-3).
    pub maxsmc: f64,
    /// Reference soil moisture (onset of transpiration stress), REFSMC (m3 m-3).
    pub refsmc: f64,
    /// Saturated matric potential magnitude, SATPSI (m).
    pub satpsi: f64,
    /// Saturated hydraulic conductivity, SATDK (m s-1).
    pub satdk: f64,
    /// Saturated soil water diffusivity, SATDW (m2 s-1).
    pub satdw: f64,
    /// Wilting point, WLTSMC (m3 m-3).
    pub wltsmc: f64,
    /// Quartz content, QTZ (-).
    pub qtz: f64,
    /// Conductivity treatment: mineral, gravel or bedrock (from the name when imported).
    #[serde(default = "default_kind")]
    pub kind: SoilKind,
}

fn default_kind() -> SoilKind {
    SoilKind::Mineral
}

/// A soil parameter set (e.g. STAS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoilTable {
    /// Data set name as in SOILPARM.TBL (e.g. "STAS").
    pub dataset: String,
    /// The classes in table order.
    #[serde(rename = "class")]
    pub classes: Vec<SoilClass>,
}

/// One vegetation class: a row of VEGPARM.TBL (Noah LSM 3.4.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VegClass {
    /// Class index in the table (1-based).
    pub index: usize,
    /// Class name.
    pub name: String,
    /// Green vegetation fraction, SHDFAC (-).
    pub shdfac: f64,
    /// Number of root layers, NROOT (-).
    pub nroot: usize,
    /// Minimum stomatal resistance, RS (s m-1).
    pub rs: f64,
    /// Radiation stress parameter, RGL (W m-2).
    pub rgl: f64,
    /// Vapour-pressure-deficit stress parameter, HS (-).
    pub hs: f64,
    /// Water equivalent depth for full snow cover, SNUP (m).
    pub snup: f64,
    /// Maximum snow albedo, MAXALB (percent).
    pub maxalb: f64,
    /// Minimum leaf area index, LAIMIN (m2 m-2).
    pub laimin: f64,
    /// Maximum leaf area index, LAIMAX (m2 m-2).
    pub laimax: f64,
    /// Minimum emissivity, EMISSMIN (-).
    pub emissmin: f64,
    /// Maximum emissivity, EMISSMAX (-).
    pub emissmax: f64,
    /// Minimum albedo, ALBEDOMIN (-).
    pub albedomin: f64,
    /// Maximum albedo, ALBEDOMAX (-).
    pub albedomax: f64,
    /// Minimum roughness length, Z0MIN (m).
    pub z0min: f64,
    /// Maximum roughness length, Z0MAX (m).
    pub z0max: f64,
}

/// A vegetation parameter set (e.g. USGS) with its scalar parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VegTable {
    /// Data set name as in VEGPARM.TBL (e.g. "USGS").
    pub dataset: String,
    /// Optimum transpiration air temperature, TOPT_DATA (K).
    pub topt: f64,
    /// Maximum canopy water capacity, CMCMAX_DATA (m).
    pub cmcmax: f64,
    /// Canopy water parameter, CFACTR_DATA (-).
    pub cfactr: f64,
    /// Maximum stomatal resistance, RSMAX_DATA (s m-1).
    pub rsmax: f64,
    /// Class index of bare soil, BARE.
    pub bare: usize,
    /// Class index of natural vegetation, NATURAL.
    pub natural: usize,
    /// The classes in table order.
    #[serde(rename = "class")]
    pub classes: Vec<VegClass>,
}

/// General parameters, GENPARM.TBL (Noah LSM 3.4.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneralParams {
    /// Linear reservoir coefficients of the slope classes, SLOPE_DATA (-).
    pub slope: Vec<f64>,
    /// Parameter reducing ground heat flux under vegetation, SBETA_DATA (-).
    pub sbeta: f64,
    /// Bare-soil evaporation exponent, FXEXP_DATA (-).
    pub fxexp: f64,
    /// Volumetric heat capacity of soil solids, CSOIL_DATA (J m-3 K-1).
    pub csoil: f64,
    /// Snow-cover shape parameter, SALP_DATA (-).
    pub salp: f64,
    /// Reference saturated hydraulic conductivity, REFDK_DATA (m s-1).
    pub refdk: f64,
    /// Surface runoff parameter, REFKDT_DATA (-).
    pub refkdt: f64,
    /// Frozen-ground parameter, FRZK_DATA (m3 m-3).
    pub frzk: f64,
    /// Depth of the lower temperature boundary, ZBOT_DATA (m, negative down).
    pub zbot: f64,
    /// Zilitinkevich coefficient, CZIL_DATA (-).
    pub czil: f64,
    /// Low threshold of the leaf-area-index adjustment, SMLOW_DATA (-).
    pub smlow: f64,
    /// High threshold, SMHIGH_DATA (-).
    pub smhigh: f64,
    /// Snow albedo ageing coefficient, LVCOEF_DATA (-).
    pub lvcoef: f64,
}

fn perr(path: &Path, line: usize, msg: impl Into<String>) -> Error {
    Error::parse(path, Some(line), msg)
}

/// Split a table row into its numeric fields and the quoted name.
fn split_row(line: &str) -> (Vec<String>, Option<String>) {
    let (head, name) = match line.find('\'') {
        Some(p) => {
            let rest = &line[p + 1..];
            let end = rest.find('\'').unwrap_or(rest.len());
            (&line[..p], Some(rest[..end].trim().to_string()))
        }
        None => (line, None),
    };
    let fields = head
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string())
        .collect();
    (fields, name)
}

fn parse_num(path: &Path, line: usize, col: &str, s: &str) -> Result<f64> {
    let v: f64 = s
        .replace(['d', 'D'], "e")
        .parse()
        .map_err(|_| perr(path, line, format!("column {col}: `{s}` is not a number")))?;
    if !v.is_finite() {
        return Err(perr(
            path,
            line,
            format!("column {col}: `{s}` is not finite"),
        ));
    }
    Ok(v)
}

/// Find the block of data set `dataset` in a Noah table: returns the 0-based
/// line index of the count line ("19,1 'BB ...'") and the column names.
fn find_block(path: &Path, lines: &[&str], dataset: &str) -> Result<(usize, usize, Vec<String>)> {
    let pos = lines
        .iter()
        .position(|l| l.trim().eq_ignore_ascii_case(dataset))
        .ok_or_else(|| Error::parse(path, None, format!("data set `{dataset}` not found")))?;
    let count_line = pos + 1;
    let l = lines
        .get(count_line)
        .ok_or_else(|| perr(path, count_line + 1, "missing class count line"))?;
    let (fields, names) = split_row(l);
    let n: usize = fields
        .first()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| perr(path, count_line + 1, "expected the number of classes"))?;
    let cols: Vec<String> = names
        .unwrap_or_default()
        .split_whitespace()
        .map(|s| s.to_ascii_uppercase())
        .collect();
    if cols.is_empty() {
        return Err(perr(path, count_line + 1, "missing quoted column names"));
    }
    Ok((count_line, n, cols))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

impl SoilTable {
    /// Parse data set `dataset` (e.g. "STAS") of a Noah SOILPARM.TBL file.
    /// Classes named GRAVEL and BEDROCK get the matching [`SoilKind`].
    pub fn from_noah_tbl(path: &Path, dataset: &str) -> Result<Self> {
        let text = read_text(path)?;
        let lines: Vec<&str> = text.lines().collect();
        let (start, n, cols) = find_block(path, &lines, dataset)?;
        let want = [
            "BB", "DRYSMC", "MAXSMC", "REFSMC", "SATPSI", "SATDK", "SATDW", "WLTSMC", "QTZ",
        ];
        for w in want {
            if !cols.iter().any(|c| c == w) {
                return Err(perr(
                    path,
                    start + 1,
                    format!("column {w} missing from the header"),
                ));
            }
        }
        let mut classes = Vec::with_capacity(n);
        for k in 0..n {
            let ln = start + 1 + k;
            let line = lines.get(ln).ok_or_else(|| {
                perr(path, ln + 1, format!("table ends after {k} of {n} classes"))
            })?;
            let (fields, name) = split_row(line);
            if fields.len() != cols.len() + 1 {
                return Err(perr(
                    path,
                    ln + 1,
                    format!("expected {} values, found {}", cols.len() + 1, fields.len()),
                ));
            }
            let index: usize = fields[0].parse().map_err(|_| {
                perr(
                    path,
                    ln + 1,
                    format!("class index `{}` is not an integer", fields[0]),
                )
            })?;
            let get = |c: &str| -> Result<f64> {
                match cols.iter().position(|x| x == c) {
                    Some(j) => parse_num(path, ln + 1, c, &fields[j + 1]),
                    None => Ok(0.0),
                }
            };
            let name = name.unwrap_or_default();
            let upper = name.to_ascii_uppercase();
            let kind = if upper.starts_with("GRAVEL") {
                SoilKind::Gravel
            } else if upper.starts_with("BEDROCK") {
                SoilKind::Bedrock
            } else {
                SoilKind::Mineral
            };
            let f11 = if cols.iter().any(|c| c == "F11") {
                get("F11")?
            } else {
                get("HC")?
            };
            classes.push(SoilClass {
                index,
                name,
                bb: get("BB")?,
                drysmc: get("DRYSMC")?,
                f11,
                maxsmc: get("MAXSMC")?,
                refsmc: get("REFSMC")?,
                satpsi: get("SATPSI")?,
                satdk: get("SATDK")?,
                satdw: get("SATDW")?,
                wltsmc: get("WLTSMC")?,
                qtz: get("QTZ")?,
                kind,
            });
        }
        Ok(Self {
            dataset: dataset.to_string(),
            classes,
        })
    }

    /// The class with 1-based `index`.
    pub fn class(&self, index: usize) -> Result<&SoilClass> {
        self.classes
            .iter()
            .find(|c| c.index == index)
            .ok_or_else(|| Error::Parameter {
                name: "soil class".into(),
                message: format!(
                    "unknown soil class {index} in data set {} (1..={})",
                    self.dataset,
                    self.classes.len()
                ),
            })
    }
}

/// Read a `NAME_DATA` scalar block: the value on the line after the key.
fn scalar_after(path: &Path, lines: &[&str], from: usize, key: &str) -> Result<(f64, usize)> {
    let pos = lines[from..]
        .iter()
        .position(|l| l.trim().eq_ignore_ascii_case(key))
        .map(|p| p + from)
        .ok_or_else(|| Error::parse(path, None, format!("key {key} not found")))?;
    let v = lines
        .get(pos + 1)
        .ok_or_else(|| perr(path, pos + 1, format!("{key}: missing value")))?;
    Ok((parse_num(path, pos + 2, key, v.trim())?, pos))
}

impl VegTable {
    /// Parse data set `dataset` (e.g. "USGS") of a Noah VEGPARM.TBL file.
    pub fn from_noah_tbl(path: &Path, dataset: &str) -> Result<Self> {
        let text = read_text(path)?;
        let lines: Vec<&str> = text.lines().collect();
        let (start, n, cols) = find_block(path, &lines, dataset)?;
        let want = [
            "SHDFAC",
            "NROOT",
            "RS",
            "RGL",
            "HS",
            "SNUP",
            "MAXALB",
            "LAIMIN",
            "LAIMAX",
            "EMISSMIN",
            "EMISSMAX",
            "ALBEDOMIN",
            "ALBEDOMAX",
            "Z0MIN",
            "Z0MAX",
        ];
        for w in want {
            if !cols.iter().any(|c| c == w) {
                return Err(perr(
                    path,
                    start + 1,
                    format!("column {w} missing from the header"),
                ));
            }
        }
        let mut classes = Vec::with_capacity(n);
        for k in 0..n {
            let ln = start + 1 + k;
            let line = lines.get(ln).ok_or_else(|| {
                perr(path, ln + 1, format!("table ends after {k} of {n} classes"))
            })?;
            let (fields, name) = split_row(line);
            if fields.len() != cols.len() + 1 {
                return Err(perr(
                    path,
                    ln + 1,
                    format!("expected {} values, found {}", cols.len() + 1, fields.len()),
                ));
            }
            let index: usize = fields[0].parse().map_err(|_| {
                perr(
                    path,
                    ln + 1,
                    format!("class index `{}` is not an integer", fields[0]),
                )
            })?;
            let get = |c: &str| -> Result<f64> {
                let j = cols.iter().position(|x| x == c).unwrap_or(0);
                parse_num(path, ln + 1, c, &fields[j + 1])
            };
            let nroot = get("NROOT")?;
            if nroot < 0.0 || nroot.fract() != 0.0 {
                return Err(perr(
                    path,
                    ln + 1,
                    format!("NROOT {nroot} is not a non-negative integer"),
                ));
            }
            classes.push(VegClass {
                index,
                name: name.unwrap_or_default(),
                shdfac: get("SHDFAC")?,
                nroot: nroot as usize,
                rs: get("RS")?,
                rgl: get("RGL")?,
                hs: get("HS")?,
                snup: get("SNUP")?,
                maxalb: get("MAXALB")?,
                laimin: get("LAIMIN")?,
                laimax: get("LAIMAX")?,
                emissmin: get("EMISSMIN")?,
                emissmax: get("EMISSMAX")?,
                albedomin: get("ALBEDOMIN")?,
                albedomax: get("ALBEDOMAX")?,
                z0min: get("Z0MIN")?,
                z0max: get("Z0MAX")?,
            });
        }
        let after = start + 1 + n;
        let (topt, _) = scalar_after(path, &lines, after, "TOPT_DATA")?;
        let (cmcmax, _) = scalar_after(path, &lines, after, "CMCMAX_DATA")?;
        let (cfactr, _) = scalar_after(path, &lines, after, "CFACTR_DATA")?;
        let (rsmax, _) = scalar_after(path, &lines, after, "RSMAX_DATA")?;
        let (bare, _) = scalar_after(path, &lines, after, "BARE")?;
        let (natural, _) = scalar_after(path, &lines, after, "NATURAL")?;
        Ok(Self {
            dataset: dataset.to_string(),
            topt,
            cmcmax,
            cfactr,
            rsmax,
            bare: bare as usize,
            natural: natural as usize,
            classes,
        })
    }

    /// The class with 1-based `index`.
    pub fn class(&self, index: usize) -> Result<&VegClass> {
        self.classes
            .iter()
            .find(|c| c.index == index)
            .ok_or_else(|| Error::Parameter {
                name: "vegetation class".into(),
                message: format!(
                    "unknown vegetation class {index} in data set {} (1..={})",
                    self.dataset,
                    self.classes.len()
                ),
            })
    }
}

impl GeneralParams {
    /// Parse a Noah GENPARM.TBL file.
    pub fn from_noah_tbl(path: &Path) -> Result<Self> {
        let text = read_text(path)?;
        let lines: Vec<&str> = text.lines().collect();
        let (nslope, pos) = scalar_after(path, &lines, 0, "SLOPE_DATA")?;
        let nslope = nslope as usize;
        let mut slope = Vec::with_capacity(nslope);
        for k in 0..nslope {
            let ln = pos + 2 + k;
            let l = lines
                .get(ln)
                .ok_or_else(|| perr(path, ln + 1, "SLOPE_DATA: too few values"))?;
            slope.push(parse_num(path, ln + 1, "SLOPE_DATA", l.trim())?);
        }
        let g = |k: &str| scalar_after(path, &lines, 0, k).map(|x| x.0);
        Ok(Self {
            slope,
            sbeta: g("SBETA_DATA")?,
            fxexp: g("FXEXP_DATA")?,
            csoil: g("CSOIL_DATA")?,
            salp: g("SALP_DATA")?,
            refdk: g("REFDK_DATA")?,
            refkdt: g("REFKDT_DATA")?,
            frzk: g("FRZK_DATA")?,
            zbot: g("ZBOT_DATA")?,
            czil: g("CZIL_DATA")?,
            smlow: g("SMLOW_DATA")?,
            smhigh: g("SMHIGH_DATA")?,
            lvcoef: g("LVCOEF_DATA")?,
        })
    }
}

/// Read a TOML file into `T`, naming the file and the offending key on error.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_text(path)?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].lines().count().max(1));
        Error::parse(path, line, e.message().to_string())
    })
}

/// Write `value` as TOML to `path` atomically (temporary file in the same folder, then rename).
pub fn write_toml<T: Serialize>(path: &Path, value: &T, header: &str) -> Result<()> {
    let body = toml::to_string_pretty(value)
        .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|s| s.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    std::fs::write(&tmp, format!("{header}{body}")).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn shared() -> Option<PathBuf> {
        let p = std::env::var_os("CALIMAP_SHARED_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
        if p.join("noahtibet-tables").is_dir() {
            Some(p.join("noahtibet-tables"))
        } else if std::env::var("CI").as_deref() == Ok("true") {
            panic!("shared data missing at {}", p.display());
        } else {
            eprintln!("note: shared data not found at {}; skipping", p.display());
            None
        }
    }

    #[test]
    fn parses_noah_tibet_tables_and_round_trips_toml() {
        let Some(dir) = shared() else { return };
        let soil = SoilTable::from_noah_tbl(&dir.join("SOILPARM.TBL"), "STAS").unwrap();
        assert_eq!(soil.classes.len(), 19);
        let gravel = soil.class(13).unwrap();
        assert_eq!(gravel.name, "GRAVEL");
        assert_eq!(gravel.kind, SoilKind::Gravel);
        assert_eq!(
            (gravel.bb, gravel.maxsmc, gravel.satdk, gravel.qtz),
            (2.53, 0.262, 1.19e-4, 0.94)
        );
        assert_eq!(soil.class(14).unwrap().kind, SoilKind::Bedrock);
        assert_eq!(soil.class(7).unwrap().satpsi, 0.355);
        assert!(soil.class(20).is_err());
        let veg = VegTable::from_noah_tbl(&dir.join("VEGPARM.TBL"), "USGS").unwrap();
        assert_eq!(veg.classes.len(), 27);
        let v9 = veg.class(9).unwrap();
        assert_eq!((v9.rs, v9.nroot, v9.z0max), (170.0, 3, 0.06));
        assert_eq!((veg.topt, veg.rsmax, veg.bare), (298.0, 5000.0, 19));
        // The IGBP set has rows with missing commas; it parses too.
        let igbp =
            VegTable::from_noah_tbl(&dir.join("VEGPARM.TBL"), "MODIFIED_IGBP_MODIS_NOAH").unwrap();
        assert_eq!(igbp.class(11).unwrap().hs, 55.97);
        let gen = GeneralParams::from_noah_tbl(&dir.join("GENPARM.TBL")).unwrap();
        assert_eq!(
            (gen.zbot, gen.czil, gen.csoil, gen.slope.len()),
            (-40.0, 0.1, 2.0e6, 9)
        );
        // TOML round trip.
        let s: SoilTable = toml::from_str(&toml::to_string(&soil).unwrap()).unwrap();
        assert_eq!(s, soil);
        let v: VegTable = toml::from_str(&toml::to_string(&veg).unwrap()).unwrap();
        assert_eq!(v, veg);
        let g: GeneralParams = toml::from_str(&toml::to_string(&gen).unwrap()).unwrap();
        assert_eq!(g, gen);
    }

    #[test]
    fn unknown_toml_key_is_named() {
        let text = "slope = [0.1]\nsbeta = -2.0\nfxexp = 2.0\ncsoil = 2e6\nsalp = 2.6\nrefdk = 2e-6\nrefkdt = 3.0\nfrzk = 0.15\nzbot = -40.0\nczil = 0.1\nsmlow = 0.5\nsmhigh = 3.0\nlvcoef = 0.5\nczill = 0.2\n";
        let e = toml::from_str::<GeneralParams>(text).unwrap_err();
        assert!(e.to_string().contains("czill"), "{e}");
    }

    #[test]
    fn malformed_row_reports_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("SOILPARM.TBL");
        std::fs::write(&p, "Soil Parameters\nSTAS\n2,1   'BB DRYSMC F11 MAXSMC REFSMC SATPSI SATDK SATDW WLTSMC QTZ'\n1, 11.55, 0.138, -2.138, 0.468, 0.412, 0.468, 9.74E-7, 0.112E-4, 0.138, 0.25, 'CLAY'\n2, 10.39, 0.126, x, 0.468, 0.404, 0.324, 1.34E-6, 0.964E-5, 0.126, 0.10, 'SILTY CLAY'\n").unwrap();
        let e = SoilTable::from_noah_tbl(&p, "STAS")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":5") && e.contains("F11"), "{e}");
    }
}
