//! The calibratable parameter registry of a model and the parameter space the
//! optimisers search.
//!
//! A registry file (`models/<model>/parameters.toml`) lists parameters in a
//! fixed order. Each entry has a name, an SI unit, a default, lower and upper
//! bounds, a transform (`linear` or `log`), a scope (`global`, `soil_class`,
//! `veg_class`, `layer_group`) with the classes it applies to, a doc line and a
//! literature reference. A parameter with a non-global scope is heterogeneous:
//! it takes one value per class and becomes one optimiser dimension per class,
//! named `name[class]` (for example `bexp[7]`). Defaults and bounds may be given
//! as one number for all classes or as an array aligned with `classes`.
//!
//! Cross-parameter constraints are declared as ordering chains:
//!
//! ```toml
//! [[constraint]]
//! increasing = ["wltsmc", "refsmc", "maxsmc"]
//! ```
//!
//! means `wltsmc < refsmc < maxsmc` class by class (global members compare
//! against every class).
//!
//! [`ParamSpace`] maps the optimiser's unit cube `[0, 1]^d` to physical values
//! and back; log-transformed dimensions are uniform in `ln(value)`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// How a parameter is mapped between its physical range and the optimiser box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// Uniform in the physical value.
    Linear,
    /// Uniform in the natural logarithm of the value (bounds must be > 0).
    Log,
}

/// The set of cells a parameter value applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One value for the whole domain.
    Global,
    /// One value per soil class.
    SoilClass,
    /// One value per vegetation class.
    VegClass,
    /// One value per group of soil layers.
    LayerGroup,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        match s {
            "global" => Some(Scope::Global),
            "soil_class" => Some(Scope::SoilClass),
            "veg_class" => Some(Scope::VegClass),
            "layer_group" => Some(Scope::LayerGroup),
            _ => None,
        }
    }

    /// The name used in registry files.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::SoilClass => "soil_class",
            Scope::VegClass => "veg_class",
            Scope::LayerGroup => "layer_group",
        }
    }
}

/// One registry entry, with per-class defaults and bounds resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Parameter name, unique in the registry (e.g. `bexp`).
    pub name: String,
    /// Key of the value in the model's parameter overrides (default: `name`).
    pub target: String,
    /// SI unit (`-` for dimensionless).
    pub unit: String,
    /// Scope of the parameter.
    pub scope: Scope,
    /// Classes the parameter applies to (empty for global parameters).
    pub classes: Vec<u32>,
    /// Default value per class (one entry for a global parameter).
    pub default: Vec<f64>,
    /// Lower bound per class.
    pub lower: Vec<f64>,
    /// Upper bound per class.
    pub upper: Vec<f64>,
    /// Transform used by the optimiser.
    pub transform: Transform,
    /// One-line description.
    pub doc: String,
    /// Literature source of the default and the range.
    pub reference: String,
}

impl ParamSpec {
    /// A global, linearly transformed parameter (handy for tests and test functions).
    pub fn global(name: &str, unit: &str, default: f64, lower: f64, upper: f64) -> ParamSpec {
        ParamSpec {
            name: name.to_string(),
            target: name.to_string(),
            unit: unit.to_string(),
            scope: Scope::Global,
            classes: Vec::new(),
            default: vec![default],
            lower: vec![lower],
            upper: vec![upper],
            transform: Transform::Linear,
            doc: String::new(),
            reference: String::new(),
        }
    }

    /// Number of values (optimiser dimensions) this parameter expands to.
    pub fn n_values(&self) -> usize {
        if self.scope == Scope::Global {
            1
        } else {
            self.classes.len()
        }
    }

    /// Name of the `i`-th expanded value: `name` or `name[class]`.
    pub fn value_name(&self, i: usize) -> String {
        if self.scope == Scope::Global {
            self.name.clone()
        } else {
            format!("{}[{}]", self.name, self.classes[i])
        }
    }
}

/// An ordering chain between parameters, checked before every run.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// Chain of parameter names whose values must increase along the chain.
    pub increasing: Vec<String>,
    /// `true`: strictly increasing (`a < b`); `false`: non-decreasing (`a <= b`).
    pub strict: bool,
}

/// An ordered registry of calibratable parameters of one model.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The file the registry was read from (empty when built in code).
    pub path: PathBuf,
    /// Model name.
    pub model: String,
    /// Parameters in registry order.
    pub params: Vec<ParamSpec>,
    /// Cross-parameter ordering constraints.
    pub constraints: Vec<Constraint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    model: String,
    #[serde(default)]
    param: Vec<RawParam>,
    #[serde(default)]
    constraint: Vec<Constraint0>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Constraint0 {
    #[serde(default)]
    increasing: Vec<String>,
    #[serde(default)]
    nondecreasing: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumOrList {
    Num(f64),
    List(Vec<f64>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    name: String,
    #[serde(default)]
    target: Option<String>,
    unit: String,
    default: NumOrList,
    lower: NumOrList,
    upper: NumOrList,
    #[serde(default = "linear")]
    transform: String,
    #[serde(default = "global")]
    scope: String,
    #[serde(default)]
    classes: Vec<u32>,
    doc: String,
    reference: String,
}

fn linear() -> String {
    "linear".into()
}
fn global() -> String {
    "global".into()
}

fn expand(path: &Path, key: &str, v: &NumOrList, n: usize) -> Result<Vec<f64>, Error> {
    match v {
        NumOrList::Num(x) => Ok(vec![*x; n]),
        NumOrList::List(xs) if xs.len() == n => Ok(xs.clone()),
        NumOrList::List(xs) => Err(Error::config(
            path,
            key,
            format!("has {} values but the parameter has {n} classes", xs.len()),
        )),
    }
}

impl Registry {
    /// Read and validate a registry file.
    pub fn load(path: &Path) -> Result<Registry> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Registry::parse(&text, path)
    }

    /// Parse and validate registry text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Registry> {
        let raw: RawRegistry = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            Error::parse(path, line, e.message().to_string())
        })?;
        let mut params = Vec::with_capacity(raw.param.len());
        for (i, p) in raw.param.iter().enumerate() {
            let key = format!("param[{i}] ({})", p.name);
            let scope = Scope::parse(&p.scope).ok_or_else(|| {
                Error::config(
                    path,
                    format!("{key}.scope"),
                    format!(
                        "unknown scope `{}` (expected global, soil_class, veg_class or layer_group)",
                        p.scope
                    ),
                )
            })?;
            let transform = match p.transform.as_str() {
                "linear" => Transform::Linear,
                "log" => Transform::Log,
                other => {
                    return Err(Error::config(
                        path,
                        format!("{key}.transform"),
                        format!("unknown transform `{other}` (expected linear or log)"),
                    ))
                }
            };
            let n = if scope == Scope::Global {
                if !p.classes.is_empty() {
                    return Err(Error::config(
                        path,
                        format!("{key}.classes"),
                        "a global parameter takes no classes",
                    ));
                }
                1
            } else {
                if p.classes.is_empty() {
                    return Err(Error::config(
                        path,
                        format!("{key}.classes"),
                        format!("scope {} needs a non-empty list of classes", p.scope),
                    ));
                }
                p.classes.len()
            };
            let spec = ParamSpec {
                name: p.name.clone(),
                target: p.target.clone().unwrap_or_else(|| p.name.clone()),
                unit: p.unit.clone(),
                scope,
                classes: p.classes.clone(),
                default: expand(path, &format!("{key}.default"), &p.default, n)?,
                lower: expand(path, &format!("{key}.lower"), &p.lower, n)?,
                upper: expand(path, &format!("{key}.upper"), &p.upper, n)?,
                transform,
                doc: p.doc.clone(),
                reference: p.reference.clone(),
            };
            params.push(spec);
        }
        let mut constraints = Vec::new();
        for (i, c) in raw.constraint.into_iter().enumerate() {
            match (c.increasing.is_empty(), c.nondecreasing.is_empty()) {
                (false, true) => constraints.push(Constraint {
                    increasing: c.increasing,
                    strict: true,
                }),
                (true, false) => constraints.push(Constraint {
                    increasing: c.nondecreasing,
                    strict: false,
                }),
                _ => {
                    return Err(Error::config(
                        path,
                        format!("constraint[{i}]"),
                        "give exactly one of `increasing` or `nondecreasing`",
                    ))
                }
            }
        }
        let reg = Registry {
            path: path.to_path_buf(),
            model: raw.model,
            params,
            constraints,
        };
        reg.validate()?;
        Ok(reg)
    }

    /// Build a registry in code (validated like a file).
    pub fn from_specs(
        model: &str,
        params: Vec<ParamSpec>,
        constraints: Vec<Constraint>,
    ) -> Result<Registry> {
        let reg = Registry {
            path: PathBuf::new(),
            model: model.to_string(),
            params,
            constraints,
        };
        reg.validate()?;
        Ok(reg)
    }

    /// Index of a parameter by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Check names, bounds, transforms, classes, defaults and constraints.
    pub fn validate(&self) -> Result<()> {
        let perr = |name: &str, msg: String| Error::Parameter {
            name: if self.path.as_os_str().is_empty() {
                name.to_string()
            } else {
                format!("{} ({})", name, self.path.display())
            },
            message: msg,
        };
        let mut seen = BTreeMap::new();
        for p in &self.params {
            if p.name.is_empty()
                || !p
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(perr(
                    &p.name,
                    "names use only ASCII letters, digits and `_`".into(),
                ));
            }
            if seen.insert(p.name.clone(), ()).is_some() {
                return Err(perr(&p.name, "defined twice".into()));
            }
            let mut classes = p.classes.clone();
            classes.sort_unstable();
            classes.dedup();
            if classes.len() != p.classes.len() {
                return Err(perr(&p.name, "a class is listed twice".into()));
            }
            let n = p.n_values();
            if p.default.len() != n || p.lower.len() != n || p.upper.len() != n {
                return Err(perr(&p.name, format!("needs {n} defaults and bounds")));
            }
            for i in 0..n {
                let vn = p.value_name(i);
                let (d, lo, hi) = (p.default[i], p.lower[i], p.upper[i]);
                if !(d.is_finite() && lo.is_finite() && hi.is_finite()) {
                    return Err(perr(&vn, "default and bounds must be finite".into()));
                }
                if lo >= hi {
                    return Err(perr(
                        &vn,
                        format!("lower bound {lo} is not below upper bound {hi}"),
                    ));
                }
                if p.transform == Transform::Log && lo <= 0.0 {
                    return Err(perr(
                        &vn,
                        format!("log transform needs a positive lower bound, got {lo}"),
                    ));
                }
                if d < lo || d > hi {
                    return Err(perr(&vn, format!("default {d} lies outside [{lo}, {hi}]")));
                }
            }
        }
        for c in &self.constraints {
            if c.increasing.len() < 2 {
                return Err(perr(
                    "constraint",
                    "an `increasing` chain needs at least two names".into(),
                ));
            }
            for name in &c.increasing {
                if self.index(name).is_none() {
                    return Err(perr(
                        name,
                        "named in a constraint but not in the registry".into(),
                    ));
                }
            }
            let scoped: Vec<&ParamSpec> = c
                .increasing
                .iter()
                .filter_map(|n| self.index(n).map(|i| &self.params[i]))
                .filter(|p| p.scope != Scope::Global)
                .collect();
            if let Some(first) = scoped.first() {
                for p in &scoped[1..] {
                    if p.scope != first.scope || p.classes != first.classes {
                        return Err(perr(
                            &p.name,
                            format!(
                                "constraint members must share scope and classes with `{}`",
                                first.name
                            ),
                        ));
                    }
                }
            }
        }
        // The defaults must satisfy the constraints.
        let defaults = ParamSet::defaults(self);
        check_constraints(self, &defaults).map_err(|e| match e {
            Error::Parameter { name, message } => Error::Parameter {
                name,
                message: format!("defaults: {message}"),
            },
            other => other,
        })?;
        Ok(())
    }
}

/// A full parameter set: one value per expanded registry value, in registry order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSet {
    /// Expanded names (`csoil`, `bexp[7]`, ...).
    pub names: Vec<String>,
    /// Values in SI units, aligned with `names`.
    pub values: Vec<f64>,
}

impl ParamSet {
    /// The registry defaults.
    pub fn defaults(reg: &Registry) -> ParamSet {
        let mut names = Vec::new();
        let mut values = Vec::new();
        for p in &reg.params {
            for i in 0..p.n_values() {
                names.push(p.value_name(i));
                values.push(p.default[i]);
            }
        }
        ParamSet { names, values }
    }

    /// Value by expanded name (`csoil` or `bexp[7]`).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }

    /// Value of parameter `name` for `class` (global parameters ignore the class).
    pub fn value(&self, name: &str, class: Option<u32>) -> Option<f64> {
        self.get(name)
            .or_else(|| class.and_then(|c| self.get(&format!("{name}[{c}]"))))
    }

    /// The values as the model's override keys for one column: global values as
    /// `target`; soil-class and layer-group values as `target[class]` for the
    /// classes in `soil_classes` / every group; vegetation-class values as
    /// `target` when the column's `veg_class` is among the parameter's classes.
    pub fn model_overrides(
        &self,
        reg: &Registry,
        soil_classes: &[u32],
        veg_class: u32,
    ) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        let mut k = 0;
        for p in &reg.params {
            for i in 0..p.n_values() {
                let Some(&v) = self.values.get(k) else {
                    return out;
                };
                k += 1;
                match p.scope {
                    Scope::Global => out.push((p.target.clone(), v)),
                    Scope::SoilClass => {
                        if soil_classes.contains(&p.classes[i]) {
                            out.push((format!("{}[{}]", p.target, p.classes[i]), v));
                        }
                    }
                    Scope::LayerGroup => out.push((format!("{}[{}]", p.target, p.classes[i]), v)),
                    Scope::VegClass => {
                        if p.classes[i] == veg_class {
                            out.push((p.target.clone(), v));
                        }
                    }
                }
            }
        }
        out
    }

    /// Overrides for a whole domain, before the cells are known: global values
    /// under their target key, per-class values as `target[k]` (soil, layer
    /// group and vegetation classes alike). The domain runner keeps, for each
    /// cell, the soil keys of the classes in its profile and the vegetation
    /// keys of its class (without the index); see
    /// `workflow::domain::cell_overrides`.
    pub fn domain_overrides(&self, reg: &Registry) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        let mut k = 0;
        for p in &reg.params {
            for i in 0..p.n_values() {
                let Some(&v) = self.values.get(k) else {
                    return out;
                };
                k += 1;
                match p.scope {
                    Scope::Global => out.push((p.target.clone(), v)),
                    _ => out.push((format!("{}[{}]", p.target, p.classes[i]), v)),
                }
            }
        }
        out
    }

    /// Write as TOML: global values as numbers, per-class values as tables keyed by class.
    pub fn to_toml(&self, reg: &Registry) -> Result<String> {
        let mut table = toml::map::Map::new();
        let mut k = 0;
        for p in &reg.params {
            if p.scope == Scope::Global {
                table.insert(p.name.clone(), toml::Value::Float(self.values[k]));
                k += 1;
            } else {
                let mut sub = toml::map::Map::new();
                for c in &p.classes {
                    sub.insert(c.to_string(), toml::Value::Float(self.values[k]));
                    k += 1;
                }
                table.insert(p.name.clone(), toml::Value::Table(sub));
            }
        }
        if k != self.values.len() {
            return Err(Error::Other(format!(
                "parameter set has {} values but registry `{}` expands to {k}",
                self.values.len(),
                reg.model
            )));
        }
        let mut root = toml::map::Map::new();
        root.insert("model".into(), toml::Value::String(reg.model.clone()));
        root.insert("params".into(), toml::Value::Table(table));
        toml::to_string(&toml::Value::Table(root)).map_err(|e| Error::Other(e.to_string()))
    }

    /// Read a parameter set written by [`ParamSet::to_toml`]; parameters not in the
    /// file keep their registry defaults, unknown names are errors. Bounds and
    /// constraints are checked.
    pub fn from_toml(text: &str, path: &Path, reg: &Registry) -> Result<ParamSet> {
        let root: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            Error::parse(path, line, e.message().to_string())
        })?;
        let mut set = ParamSet::defaults(reg);
        let Some(params) = root.get("params") else {
            return Err(Error::config(path, "params", "missing table [params]"));
        };
        let Some(params) = params.as_table() else {
            return Err(Error::config(path, "params", "must be a table"));
        };
        let num = |v: &toml::Value, key: &str| -> Result<f64> {
            match v {
                toml::Value::Float(x) => Ok(*x),
                toml::Value::Integer(i) => Ok(*i as f64),
                _ => Err(Error::config(path, key, "must be a number")),
            }
        };
        for (name, v) in params {
            let Some(pi) = reg.index(name) else {
                return Err(Error::config(
                    path,
                    format!("params.{name}"),
                    format!("not a parameter of model `{}`", reg.model),
                ));
            };
            let p = &reg.params[pi];
            if p.scope == Scope::Global {
                let x = num(v, &format!("params.{name}"))?;
                let i = set.names.iter().position(|n| n == name).unwrap_or(0);
                set.values[i] = x;
            } else {
                let Some(t) = v.as_table() else {
                    return Err(Error::config(
                        path,
                        format!("params.{name}"),
                        "a per-class parameter must be a table keyed by class",
                    ));
                };
                for (c, v) in t {
                    let key = format!("params.{name}.{c}");
                    let vn = format!("{name}[{c}]");
                    let Some(i) = set.names.iter().position(|n| *n == vn) else {
                        return Err(Error::config(
                            path,
                            key,
                            format!("class {c} is not among the classes of `{name}`"),
                        ));
                    };
                    set.values[i] = num(v, &key)?;
                }
            }
        }
        check_set(reg, &set)?;
        Ok(set)
    }

    /// Load a parameter set file.
    pub fn load(path: &Path, reg: &Registry) -> Result<ParamSet> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        ParamSet::from_toml(&text, path, reg)
    }

    /// Save atomically as TOML.
    pub fn save(&self, path: &Path, reg: &Registry) -> Result<()> {
        write_atomic(path, self.to_toml(reg)?.as_bytes())
    }
}

/// Write a file atomically: a temporary name in the same folder, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fname = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{fname}.tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Check every value against its bounds and the registry constraints.
pub fn check_set(reg: &Registry, set: &ParamSet) -> Result<()> {
    let mut k = 0;
    for p in &reg.params {
        for i in 0..p.n_values() {
            let Some(&v) = set.values.get(k) else {
                return Err(Error::Parameter {
                    name: p.value_name(i),
                    message: "missing from the parameter set".into(),
                });
            };
            if !v.is_finite() || v < p.lower[i] || v > p.upper[i] {
                return Err(Error::Parameter {
                    name: p.value_name(i),
                    message: format!("value {v} lies outside [{}, {}]", p.lower[i], p.upper[i]),
                });
            }
            k += 1;
        }
    }
    check_constraints(reg, set)
}

fn check_constraints(reg: &Registry, set: &ParamSet) -> Result<()> {
    for c in &reg.constraints {
        // The classes to compare over: those of the first scoped member, or none.
        let classes: Option<Vec<u32>> = c
            .increasing
            .iter()
            .filter_map(|n| reg.index(n).map(|i| &reg.params[i]))
            .find(|p| p.scope != Scope::Global)
            .map(|p| p.classes.clone());
        let class_list: Vec<Option<u32>> = match classes {
            Some(cs) => cs.into_iter().map(Some).collect(),
            None => vec![None],
        };
        for class in class_list {
            for w in c.increasing.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                let va = set.value(a, class);
                let vb = set.value(b, class);
                if let (Some(va), Some(vb)) = (va, vb) {
                    if va > vb || (c.strict && va == vb) {
                        let sfx = class.map(|c| format!("[{c}]")).unwrap_or_default();
                        let rel = if c.strict { "below" } else { "at most" };
                        return Err(Error::Parameter {
                            name: format!("{a}{sfx}"),
                            message: format!("{a}{sfx} = {va} must be {rel} {b}{sfx} = {vb}"),
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// One optimiser dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Dim {
    /// Expanded name (`bexp[7]`).
    pub name: String,
    /// Position in the full [`ParamSet`].
    pub index: usize,
    /// Physical lower bound.
    pub lower: f64,
    /// Physical upper bound.
    pub upper: f64,
    /// Transform between the unit interval and the physical range.
    pub transform: Transform,
}

impl Dim {
    /// Physical value at unit coordinate `u` (clamped to [0, 1]).
    pub fn to_physical(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        match self.transform {
            Transform::Linear => self.lower + u * (self.upper - self.lower),
            Transform::Log => {
                let (a, b) = (self.lower.ln(), self.upper.ln());
                (a + u * (b - a)).exp().clamp(self.lower, self.upper)
            }
        }
    }

    /// Unit coordinate of physical value `v`.
    pub fn to_unit(&self, v: f64) -> f64 {
        match self.transform {
            Transform::Linear => (v - self.lower) / (self.upper - self.lower),
            Transform::Log => {
                let (a, b) = (self.lower.ln(), self.upper.ln());
                (v.ln() - a) / (b - a)
            }
        }
    }
}

/// The search space: a subset of the registry's expanded values, the others
/// fixed at a base parameter set (the defaults unless told otherwise).
#[derive(Debug, Clone)]
pub struct ParamSpace {
    /// The registry.
    pub registry: Registry,
    /// Values of the non-calibrated parameters.
    pub base: ParamSet,
    /// Optimiser dimensions in registry order.
    pub dims: Vec<Dim>,
}

impl ParamSpace {
    /// Every expanded value of the registry is a dimension.
    pub fn all(registry: Registry) -> ParamSpace {
        let base = ParamSet::defaults(&registry);
        let dims = Self::dims_of(&registry, |_, _| true);
        ParamSpace {
            registry,
            base,
            dims,
        }
    }

    /// Only the named parameters are calibrated: a registry name takes all
    /// its classes, a value name (`bexp[7]`) one class's value; unknown
    /// names are errors.
    pub fn select(registry: Registry, names: &[&str]) -> Result<ParamSpace> {
        let is_value = |n: &str| {
            registry.params.iter().any(|p| {
                (0..p.n_values()).any(|i| p.scope != Scope::Global && p.value_name(i) == n)
            })
        };
        for n in names {
            if registry.index(n).is_some() || is_value(n) {
                continue;
            }
            let base = n.split('[').next().unwrap_or(n);
            let message = match registry.params.iter().find(|p| p.name == base) {
                Some(p) if p.scope != Scope::Global => format!(
                    "`{base}` has the classes {:?}; name one of them or `{base}` for all",
                    p.classes
                ),
                Some(_) => format!("`{base}` has one value; name it without a class"),
                None => format!("not in the registry of model `{}`", registry.model),
            };
            return Err(Error::Parameter {
                name: n.to_string(),
                message,
            });
        }
        let base = ParamSet::defaults(&registry);
        let dims = Self::dims_of(&registry, |p, i| {
            names
                .iter()
                .any(|n| *n == p.name || (p.scope != Scope::Global && *n == p.value_name(i)))
        });
        Ok(ParamSpace {
            registry,
            base,
            dims,
        })
    }

    fn dims_of(reg: &Registry, keep: impl Fn(&ParamSpec, usize) -> bool) -> Vec<Dim> {
        let mut dims = Vec::new();
        let mut k = 0;
        for p in &reg.params {
            for i in 0..p.n_values() {
                if keep(p, i) {
                    dims.push(Dim {
                        name: p.value_name(i),
                        index: k,
                        lower: p.lower[i],
                        upper: p.upper[i],
                        transform: p.transform,
                    });
                }
                k += 1;
            }
        }
        dims
    }

    /// Number of optimiser dimensions.
    pub fn dim(&self) -> usize {
        self.dims.len()
    }

    /// Names of the optimiser dimensions.
    pub fn names(&self) -> Vec<String> {
        self.dims.iter().map(|d| d.name.clone()).collect()
    }

    /// The full parameter set at a point of the unit cube (not constraint-checked).
    pub fn to_physical(&self, u: &[f64]) -> Result<ParamSet> {
        if u.len() != self.dims.len() {
            return Err(Error::Other(format!(
                "point has {} coordinates but the parameter space has {} dimensions",
                u.len(),
                self.dims.len()
            )));
        }
        let mut set = self.base.clone();
        for (d, &x) in self.dims.iter().zip(u) {
            if !x.is_finite() {
                return Err(Error::Parameter {
                    name: d.name.clone(),
                    message: format!("unit coordinate {x} is not finite"),
                });
            }
            set.values[d.index] = d.to_physical(x);
        }
        Ok(set)
    }

    /// Model overrides of the calibrated dimensions only (class-indexed as in
    /// [`ParamSet::domain_overrides`]); the other parameters keep the values
    /// of the model's tables.
    pub fn dim_overrides(&self, set: &ParamSet) -> Vec<(String, f64)> {
        let all = set.domain_overrides(&self.registry);
        self.dims
            .iter()
            .filter_map(|d| all.get(d.index).cloned())
            .collect()
    }

    /// The values of the calibrated dimensions only.
    pub fn dim_values(&self, set: &ParamSet) -> Vec<f64> {
        self.dims.iter().map(|d| set.values[d.index]).collect()
    }

    /// Unit-cube coordinates of a parameter set (bounds are checked).
    pub fn to_unit(&self, set: &ParamSet) -> Result<Vec<f64>> {
        check_set(&self.registry, set)?;
        Ok(self
            .dims
            .iter()
            .map(|d| d.to_unit(set.values[d.index]))
            .collect())
    }

    /// Check bounds and cross-parameter constraints of a full set.
    pub fn check(&self, set: &ParamSet) -> Result<()> {
        check_set(&self.registry, set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noah_registry_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/noah-tibet/parameters.toml")
    }

    #[test]
    fn selection_takes_whole_parameters_or_single_class_values() {
        let reg = Registry::load(&noah_registry_path()).unwrap();
        let space = ParamSpace::select(reg.clone(), &["czil", "bexp[7]", "maxsmc"]).unwrap();
        let mut names = space.names();
        names.sort();
        assert_eq!(
            names,
            [
                "bexp[7]",
                "czil",
                "maxsmc[11]",
                "maxsmc[13]",
                "maxsmc[14]",
                "maxsmc[7]",
                "maxsmc[9]"
            ]
        );
        // The single value is the registry's b of class 7, with its bounds.
        let d = space.dims.iter().find(|d| d.name == "bexp[7]").unwrap();
        let p = &reg.params[reg.index("bexp").unwrap()];
        let i = p.classes.iter().position(|&c| c == 7).unwrap();
        assert_eq!((d.lower, d.upper), (p.lower[i], p.upper[i]));
        let e = ParamSpace::select(reg.clone(), &["bexp[8]"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bexp[8]") && e.contains("[7, 9, 11, 13, 14]"),
            "{e}"
        );
        let e = ParamSpace::select(reg.clone(), &["czil[7]"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("czil[7]") && e.contains("one value"), "{e}");
        let e = ParamSpace::select(reg, &["nonsense"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in the registry"), "{e}");
    }

    #[test]
    fn noah_tibet_registry_parses_with_defaults_in_bounds() {
        let reg = Registry::load(&noah_registry_path()).expect("registry parses");
        assert_eq!(reg.model, "noah-tibet");
        assert!(
            reg.params.len() >= 26,
            "only {} parameters",
            reg.params.len()
        );
        for p in &reg.params {
            assert!(
                !p.doc.is_empty() && !p.reference.is_empty(),
                "{} lacks doc/reference",
                p.name
            );
            for i in 0..p.n_values() {
                assert!(
                    p.lower[i] <= p.default[i] && p.default[i] <= p.upper[i],
                    "{}",
                    p.value_name(i)
                );
            }
        }
        let space = ParamSpace::all(reg.clone());
        assert!(
            space.dim() > reg.params.len(),
            "heterogeneous parameters expand"
        );
        assert!(space.names().contains(&"bexp[13]".to_string()));
        // Defaults as a set satisfy bounds and constraints.
        check_set(&reg, &ParamSet::defaults(&reg)).unwrap();
        // Defaults agree with the Noah-Tibet tables where the table has the value.
        let d = ParamSet::defaults(&reg);
        assert_eq!(d.get("bexp[13]"), Some(2.53));
        assert_eq!(d.get("satdk[14]"), Some(1.41e-4));
        assert_eq!(d.get("rsmin[7]"), Some(40.0));
        assert_eq!(d.get("csoil"), Some(2.0e6));
        // Overrides for a loam column under grassland.
        let ov = d.model_overrides(&reg, &[7, 14], 7);
        assert!(ov.contains(&("soil.bb[7]".to_string(), 5.25)));
        assert!(ov.contains(&("soil.bb[14]".to_string(), 2.79)));
        assert!(!ov.iter().any(|(k, _)| k == "soil.bb[9]"));
        assert!(ov.contains(&("veg.rsmin".to_string(), 40.0)));
        assert!(ov.contains(&("general.czil".to_string(), 0.1)));
    }

    fn shared_data() -> Option<PathBuf> {
        let p = std::env::var_os("CALIMAP_SHARED_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
        if p.is_dir() {
            Some(p)
        } else if std::env::var("CI").as_deref() == Ok("true") {
            panic!("shared data not found at {}", p.display());
        } else {
            eprintln!(
                "note: shared data not found at {}, test skipped",
                p.display()
            );
            None
        }
    }

    /// Rows `index, v1, v2, ...` of the first table after a line equal to `marker`.
    fn table_rows(text: &str, marker: &str) -> BTreeMap<u32, Vec<f64>> {
        let mut rows = BTreeMap::new();
        let mut it = text.lines().skip_while(|l| l.trim() != marker).skip(2);
        for line in it.by_ref() {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let Ok(k) = f[0].parse::<u32>() else { break };
            let vals = f[1..]
                .iter()
                .filter_map(|v| v.parse::<f64>().ok())
                .collect();
            rows.insert(k, vals);
        }
        rows
    }

    #[test]
    fn defaults_match_the_noah_tibet_tables() {
        let Some(data) = shared_data() else { return };
        let dir = data.join("noahtibet-tables");
        let soil = table_rows(
            &std::fs::read_to_string(dir.join("SOILPARM.TBL")).unwrap(),
            "STAS",
        );
        let veg = table_rows(
            &std::fs::read_to_string(dir.join("VEGPARM.TBL")).unwrap(),
            "USGS",
        );
        let reg = Registry::load(&noah_registry_path()).unwrap();
        // Columns after the class index: BB DRYSMC F11 MAXSMC REFSMC SATPSI SATDK SATDW WLTSMC QTZ.
        let soil_cols = [
            ("bexp", 0),
            ("maxsmc", 3),
            ("refsmc", 4),
            ("satpsi", 5),
            ("satdk", 6),
            ("satdw", 7),
            ("wltsmc", 8),
            ("quartz", 9),
        ];
        // SHDFAC NROOT RS RGL HS SNUP MAXALB(%) LAIMIN LAIMAX EMISSMIN EMISSMAX ALBEDOMIN ALBEDOMAX Z0MIN Z0MAX.
        let veg_cols = [
            ("shdfac", 0, 1.0),
            ("rsmin", 2, 1.0),
            ("snup", 5, 1.0),
            ("maxalb", 6, 0.01),
            ("emissmin", 9, 1.0),
            ("emissmax", 10, 1.0),
            ("albedomin", 11, 1.0),
            ("albedomax", 12, 1.0),
            ("z0min", 13, 1.0),
            ("z0max", 14, 1.0),
        ];
        let mut checked = 0;
        for p in &reg.params {
            for (i, &c) in p.classes.iter().enumerate() {
                let table = match p.scope {
                    Scope::SoilClass => soil_cols
                        .iter()
                        .find(|(n, _)| *n == p.name)
                        .map(|&(_, col)| soil[&c][col]),
                    Scope::VegClass => veg_cols
                        .iter()
                        .find(|(n, _, _)| *n == p.name)
                        .map(|&(_, col, f)| veg[&c][col] * f),
                    _ => None,
                };
                if let Some(t) = table {
                    assert!(
                        (p.default[i] - t).abs() <= 1e-9 * t.abs().max(1e-12),
                        "{} = {} but table has {t}",
                        p.value_name(i),
                        p.default[i]
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 8 * 5 + 10 * 3);
    }

    #[test]
    fn unit_cube_round_trip_and_log_space() {
        let mut specs = vec![ParamSpec::global("a", "-", 1.0, 0.0, 2.0)];
        let mut k = ParamSpec::global("k", "m s-1", 1e-5, 1e-7, 1e-3);
        k.transform = Transform::Log;
        specs.push(k);
        let reg = Registry::from_specs("t", specs, vec![]).unwrap();
        let space = ParamSpace::all(reg);
        let set = space.to_physical(&[0.25, 0.5]).unwrap();
        assert!((set.values[0] - 0.5).abs() < 1e-15);
        // Midpoint in log space is the geometric mean.
        assert!((set.values[1] - 1e-5).abs() < 1e-18);
        let u = space.to_unit(&set).unwrap();
        assert!((u[0] - 0.25).abs() < 1e-12 && (u[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn bad_registries_are_clear_errors() {
        let p = Path::new("x.toml");
        let log_neg = r#"model = "m"
[[param]]
name = "k"
unit = "m"
default = 1.0
lower = 0.0
upper = 2.0
transform = "log"
doc = "d"
reference = "r"
"#;
        let e = Registry::parse(log_neg, p).unwrap_err().to_string();
        assert!(e.contains("k") && e.contains("positive lower bound"), "{e}");
        let inverted = log_neg
            .replace("transform = \"log\"\n", "")
            .replace("upper = 2.0", "upper = -1.0");
        let e = Registry::parse(&inverted, p).unwrap_err().to_string();
        assert!(e.contains("not below upper bound"), "{e}");
        let bad_scope = log_neg.replace("transform = \"log\"", "scope = \"pixel\"");
        let e = Registry::parse(&bad_scope, p).unwrap_err().to_string();
        assert!(e.contains("pixel"), "{e}");
    }

    #[test]
    fn constraints_name_the_offending_class() {
        // Overlapping bounds, so that a point can break the ordering.
        let text = r#"
model = "m"
[[param]]
name = "wltsmc"
target = "soil.wltsmc"
unit = "m3 m-3"
scope = "soil_class"
classes = [7, 9]
default = [0.05, 0.05]
lower = 0.01
upper = 0.3
doc = "d"
reference = "r"
[[param]]
name = "refsmc"
target = "soil.refsmc"
unit = "m3 m-3"
scope = "soil_class"
classes = [7, 9]
default = [0.3, 0.3]
lower = 0.05
upper = 0.4
doc = "d"
reference = "r"
[[constraint]]
increasing = ["wltsmc", "refsmc"]
"#;
        let reg = Registry::parse(text, Path::new("p.toml")).unwrap();
        let mut set = ParamSet::defaults(&reg);
        let i = set.names.iter().position(|n| n == "wltsmc[7]").unwrap();
        let j = set.names.iter().position(|n| n == "refsmc[7]").unwrap();
        set.values[i] = 0.15;
        set.values[j] = 0.10;
        let e = check_set(&reg, &set).unwrap_err().to_string();
        assert!(e.contains("wltsmc[7]") && e.contains("refsmc[7]"), "{e}");
    }

    #[test]
    fn every_point_of_the_noah_tibet_box_keeps_the_soil_water_order() {
        let reg = Registry::load(&noah_registry_path()).unwrap();
        let space = ParamSpace::all(reg.clone());
        for corner in [0.0, 1.0] {
            for other in [0.0, 1.0] {
                // wilting at one extreme, the rest at the other
                let u: Vec<f64> = space
                    .dims
                    .iter()
                    .map(|d| {
                        if d.name.starts_with("wltsmc") {
                            corner
                        } else {
                            other
                        }
                    })
                    .collect();
                let set = space.to_physical(&u).unwrap();
                check_set(&reg, &set).unwrap();
            }
        }
    }

    #[test]
    fn parameter_set_toml_round_trip() {
        let reg = Registry::load(&noah_registry_path()).unwrap();
        let space = ParamSpace::all(reg.clone());
        let u = vec![0.3; space.dim()];
        let mut set = space.to_physical(&u).unwrap();
        // Keep the soil moisture ordering valid by using defaults for those.
        let defaults = ParamSet::defaults(&reg);
        for (k, n) in set.names.clone().iter().enumerate() {
            if n.starts_with("wltsmc") || n.starts_with("refsmc") || n.starts_with("maxsmc") {
                set.values[k] = defaults.values[k];
            }
        }
        let text = set.to_toml(&reg).unwrap();
        let back = ParamSet::from_toml(&text, Path::new("best.toml"), &reg).unwrap();
        assert_eq!(back, set);
        let e = ParamSet::from_toml("[params]\nnope = 1.0\n", Path::new("b.toml"), &reg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.toml") && e.contains("nope"), "{e}");
    }
}
