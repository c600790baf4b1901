//! Sensitivity study runner: design, parallel evaluation with a row-by-row
//! checkpoint log, resume, analysis and outputs.
//!
//! Recipe of [`Study::run`]:
//! 1. build the design from the spec and its seed (the same spec always gives
//!    the same rows);
//! 2. write `study.json` (spec, crate version, design digest) atomically, or check
//!    that an existing one describes the same study;
//! 3. read `evaluations.csv`, keep the complete records whose parameter values
//!    match the design exactly, rewrite it atomically with only those (a line
//!    cut by a crash is dropped, duplicates removed);
//! 4. evaluate the missing rows in parallel with rayon, in batches handed to the
//!    batch objective, appending every evaluated row to the log as soon as it is
//!    known (failed evaluations are recorded with their message and not rerun);
//! 5. assemble outputs by row index (so the result does not depend on the thread
//!    count or the order of completion), analyse every output and write
//!    `indices.csv` (plus `indices_s2.csv` for second-order Sobol), one
//!    `ranking_<output>.png` per output and `screened.toml`, all atomically.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::morris::{
    morris_analyze, morris_design, MorrisAnalyzeOptions, MorrisIndices, MorrisOptions,
};
use super::saltelli::{BaseSampling, SaltelliDesign};
use super::sobol::{sobol_analyze, SobolIndices, SobolOptions};
use crate::{Error, Result};

/// File name of the checkpoint log inside the study folder.
pub const LOG_FILE: &str = "evaluations.csv";
/// File name of the study manifest.
pub const MANIFEST_FILE: &str = "study.json";
/// File name of the indices table.
pub const INDICES_FILE: &str = "indices.csv";
/// File name of the second-order indices table.
pub const INDICES_S2_FILE: &str = "indices_s2.csv";
/// File name of the screened parameter list.
pub const SCREENED_FILE: &str = "screened.toml";
/// Marker closing every complete log record.
const END_MARK: &str = "end";

/// Sensitivity method and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// Morris elementary effects.
    Morris {
        #[serde(default)]
        design: MorrisOptions,
        #[serde(default)]
        analysis: MorrisAnalyzeOptions,
    },
    /// Sobol indices on a Saltelli design of `n` base samples.
    Sobol {
        n: usize,
        sampling: BaseSampling,
        #[serde(default)]
        analysis: SobolOptions,
    },
}

/// Which index decides that a parameter is sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenMetric {
    /// Morris: mu*_j divided by the sum of mu* over all parameters.
    MuStarShare,
    /// Sobol: total-order index ST_j.
    TotalOrder,
}

/// Rule for the screened parameter list: a parameter is kept when its metric
/// exceeds `threshold` for at least one output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenRule {
    pub metric: ScreenMetric,
    pub threshold: f64,
}

/// A complete, serialisable description of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    /// Parameter names in registry order (columns of the unit-cube design).
    pub parameters: Vec<String>,
    /// Names of the scalar outputs returned by the objective, in order.
    pub outputs: Vec<String>,
    /// Method and settings.
    pub method: Method,
    /// Screening rule for `screened.toml`.
    pub screen: ScreenRule,
    /// Rows handed to one call of the batch objective.
    #[serde(default = "default_batch")]
    pub batch: usize,
}

fn default_batch() -> usize {
    1
}

/// Options of one run that do not change the study.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Hide the progress bar.
    pub quiet: bool,
}

/// Indices of one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutputIndices {
    Morris(MorrisIndices),
    Sobol(SobolIndices),
}

/// Analysis of one output, or why it could not be analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputResult {
    pub name: String,
    pub indices: std::result::Result<OutputIndices, String>,
    /// What the analysis left out, when it did (Morris trajectories through
    /// parameter sets that give this output no value).
    pub note: Option<String>,
}

/// Everything a study produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyResults {
    /// Per output, in the spec's order.
    pub outputs: Vec<OutputResult>,
    /// Screened parameters (union over outputs), in registry order.
    pub screened: Vec<String>,
    /// Number of rows evaluated in this run (not read back from the log).
    pub evaluated_now: usize,
    /// Number of rows whose evaluation failed.
    pub failed_rows: usize,
}

/// One evaluated row.
#[derive(Debug, Clone, PartialEq)]
enum RowOutcome {
    Ok(Vec<f64>),
    Failed(String),
}

/// A study: a validated spec and its design.
#[derive(Debug, Clone)]
pub struct Study {
    spec: StudySpec,
    rows: Vec<Vec<f64>>,
}

fn spec_err(message: impl Into<String>) -> Error {
    Error::Parameter {
        name: "sensitivity study".into(),
        message: message.into(),
    }
}

impl Study {
    /// Validate the spec and build its design.
    pub fn new(spec: StudySpec) -> Result<Self> {
        let d = spec.parameters.len();
        if d == 0 {
            return Err(spec_err("no parameters"));
        }
        if spec.outputs.is_empty() {
            return Err(spec_err("no outputs"));
        }
        if spec.batch == 0 {
            return Err(spec_err("batch must be at least 1"));
        }
        for (kind, names) in [("parameter", &spec.parameters), ("output", &spec.outputs)] {
            let mut seen = std::collections::HashSet::new();
            for n in names {
                if n.is_empty() || n.contains([',', '"', '\n']) {
                    return Err(spec_err(format!(
                        "{kind} name `{n}` is empty or holds a comma, quote or newline"
                    )));
                }
                if !seen.insert(n) {
                    return Err(spec_err(format!("{kind} `{n}` is listed twice")));
                }
            }
        }
        match (&spec.method, spec.screen.metric) {
            (Method::Morris { .. }, ScreenMetric::MuStarShare)
            | (Method::Sobol { .. }, ScreenMetric::TotalOrder) => {}
            _ => {
                return Err(spec_err(
                    "screen metric must be `mu_star_share` for Morris and `total_order` for Sobol",
                ))
            }
        }
        if !spec.screen.threshold.is_finite() || spec.screen.threshold < 0.0 {
            return Err(spec_err(format!(
                "screen threshold {} must be finite and >= 0",
                spec.screen.threshold
            )));
        }
        let rows = match &spec.method {
            Method::Morris { design, .. } => morris_design(d, design)?.rows,
            Method::Sobol {
                n,
                sampling,
                analysis,
            } => SaltelliDesign::generate(d, *n, analysis.second_order, *sampling)?.rows,
        };
        Ok(Self { spec, rows })
    }

    /// The study's spec.
    pub fn spec(&self) -> &StudySpec {
        &self.spec
    }

    /// The design rows in the unit cube.
    pub fn design(&self) -> &[Vec<f64>] {
        &self.rows
    }

    /// SHA-256 of the design rows (bit patterns), hex encoded.
    pub fn design_digest(&self) -> String {
        let mut h = Sha256::new();
        for r in &self.rows {
            for v in r {
                h.update(v.to_bits().to_le_bytes());
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Analyse outputs `y[row][output]` of the whole design.
    pub fn analyze(&self, y: &[Vec<f64>]) -> Result<Vec<OutputResult>> {
        let outcomes: Vec<RowOutcome> = y.iter().map(|v| RowOutcome::Ok(v.clone())).collect();
        self.analyze_outcomes(&outcomes)
    }

    fn analyze_outcomes(&self, outcomes: &[RowOutcome]) -> Result<Vec<OutputResult>> {
        if outcomes.len() != self.rows.len() {
            return Err(spec_err(format!(
                "{} outputs for a design of {} rows",
                outcomes.len(),
                self.rows.len()
            )));
        }
        let d = self.spec.parameters.len();
        let mut res = Vec::with_capacity(self.spec.outputs.len());
        for (k, name) in self.spec.outputs.iter().enumerate() {
            let mut y = Vec::with_capacity(outcomes.len());
            let mut failure = None;
            for (i, o) in outcomes.iter().enumerate() {
                match o {
                    RowOutcome::Ok(v) if v.len() == self.spec.outputs.len() => y.push(v[k]),
                    RowOutcome::Ok(v) => {
                        failure = Some(format!(
                            "row {i} has {} outputs, expected {}",
                            v.len(),
                            self.spec.outputs.len()
                        ));
                        break;
                    }
                    RowOutcome::Failed(m) => {
                        let n_failed = outcomes
                            .iter()
                            .filter(|o| matches!(o, RowOutcome::Failed(_)))
                            .count();
                        failure = Some(format!(
                            "{n_failed} evaluation(s) failed, first at row {i}: {m}"
                        ));
                        break;
                    }
                }
            }
            // Parameter sets that ran but give this output no value (NaN):
            // a Morris analysis keeps the trajectories without one.
            let undefined = y.iter().filter(|v| !v.is_finite()).count();
            let mut note = None;
            let mut rows = std::borrow::Cow::Borrowed(&self.rows);
            if failure.is_none() && undefined > 0 {
                let first = y.iter().position(|v| !v.is_finite()).unwrap_or(0);
                let what = format!(
                    "{undefined} of {} parameter sets give no value (first at row {first})",
                    y.len()
                );
                match &self.spec.method {
                    Method::Morris { .. } => {
                        let per = d + 1;
                        let r = y.len() / per;
                        let keep: Vec<usize> = (0..r)
                            .filter(|t| y[t * per..(t + 1) * per].iter().all(|v| v.is_finite()))
                            .collect();
                        if keep.len() < 2 {
                            failure = Some(format!(
                                "{what}: {} of {r} trajectories left, too few to analyse",
                                keep.len()
                            ));
                        } else {
                            let pick = |t: &usize| *t * per..(*t + 1) * per;
                            y = keep.iter().flat_map(pick).map(|i| y[i]).collect();
                            rows = std::borrow::Cow::Owned(
                                keep.iter()
                                    .flat_map(pick)
                                    .map(|i| self.rows[i].clone())
                                    .collect(),
                            );
                            note = Some(format!(
                                "{what}; analysed on the {} of {r} trajectories without one",
                                keep.len()
                            ));
                        }
                    }
                    Method::Sobol { .. } => {
                        failure = Some(format!("{what}; Sobol indices need every value"));
                    }
                }
            }
            let indices = match failure {
                Some(m) => Err(m),
                None => match &self.spec.method {
                    Method::Morris { analysis, .. } => morris_analyze(&rows, &y, d, analysis)
                        .map(OutputIndices::Morris)
                        .map_err(|e| e.to_string()),
                    Method::Sobol { analysis, .. } => sobol_analyze(&y, d, analysis)
                        .map(OutputIndices::Sobol)
                        .map_err(|e| e.to_string()),
                },
            };
            res.push(OutputResult {
                name: name.clone(),
                indices,
                note,
            });
        }
        Ok(res)
    }

    /// Screened parameters (registry order) under the spec's rule.
    pub fn screen(&self, results: &[OutputResult]) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
        let d = self.spec.parameters.len();
        let mut keep = vec![false; d];
        let mut per_output = BTreeMap::new();
        for r in results {
            let Ok(ix) = &r.indices else { continue };
            let metric = screen_metric(ix);
            let mut names = Vec::new();
            for j in 0..d {
                if metric[j] > self.spec.screen.threshold {
                    keep[j] = true;
                    names.push(self.spec.parameters[j].clone());
                }
            }
            per_output.insert(r.name.clone(), names);
        }
        let all = (0..d)
            .filter(|&j| keep[j])
            .map(|j| self.spec.parameters[j].clone())
            .collect();
        (all, per_output)
    }

    /// Run (or resume) the study in `dir` with a batch objective mapping unit-cube
    /// rows to one `Vec` of named outputs per row, then analyse and write outputs.
    /// Parallelism comes from the current rayon pool.
    pub fn run<F>(&self, dir: &Path, objective: F, opts: &RunOptions) -> Result<StudyResults>
    where
        F: Fn(&[Vec<f64>]) -> Vec<Result<Vec<f64>>> + Sync,
    {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        self.write_or_check_manifest(dir)?;
        let log_path = dir.join(LOG_FILE);
        let mut outcomes = self.load_log(&log_path)?;
        self.rewrite_log(&log_path, &outcomes)?;

        let pending: Vec<usize> = (0..self.rows.len())
            .filter(|&i| outcomes[i].is_none())
            .collect();
        let pb = if opts.quiet {
            indicatif::ProgressBar::hidden()
        } else {
            let pb = indicatif::ProgressBar::new(self.rows.len() as u64);
            if let Ok(style) = indicatif::ProgressStyle::default_bar()
                .template("{msg} [{bar:40}] {pos}/{len} rows, {elapsed} elapsed, eta {eta}")
            {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_message("sensitivity");
            pb
        };
        pb.set_position((self.rows.len() - pending.len()) as u64);

        let file = OpenOptions::new()
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        let log = Mutex::new(file);
        let results = Mutex::new(Vec::<(usize, RowOutcome)>::with_capacity(pending.len()));
        let first_err = Mutex::new(None::<Error>);
        let n_out = self.spec.outputs.len();
        pending.par_chunks(self.spec.batch).for_each(|batch| {
            if first_err.lock().map(|e| e.is_some()).unwrap_or(true) {
                return;
            }
            let xs: Vec<Vec<f64>> = batch.iter().map(|&i| self.rows[i].clone()).collect();
            let ys = objective(&xs);
            let outs: Vec<RowOutcome> = if ys.len() != batch.len() {
                let m = format!(
                    "objective returned {} results for {} rows",
                    ys.len(),
                    batch.len()
                );
                batch
                    .iter()
                    .map(|_| RowOutcome::Failed(m.clone()))
                    .collect()
            } else {
                ys.into_iter()
                    .map(|r| match r {
                        Ok(v) if v.len() == n_out => RowOutcome::Ok(v),
                        Ok(v) => RowOutcome::Failed(format!(
                            "objective returned {} outputs, expected {n_out}",
                            v.len()
                        )),
                        Err(e) => RowOutcome::Failed(e.to_string()),
                    })
                    .collect()
            };
            let mut text = String::new();
            for (&i, o) in batch.iter().zip(&outs) {
                text.push_str(&self.format_record(i, o));
            }
            let write = log
                .lock()
                .map_err(|_| spec_err("log lock poisoned"))
                .and_then(|mut f| {
                    f.write_all(text.as_bytes())
                        .and_then(|_| f.flush())
                        .map_err(|e| Error::io(&log_path, e))
                });
            if let Err(e) = write {
                if let Ok(mut g) = first_err.lock() {
                    g.get_or_insert(e);
                }
                return;
            }
            if let Ok(mut r) = results.lock() {
                r.extend(batch.iter().copied().zip(outs));
            }
            pb.inc(batch.len() as u64);
        });
        pb.finish_and_clear();
        if let Some(e) = first_err
            .into_inner()
            .map_err(|_| spec_err("error lock poisoned"))?
        {
            return Err(e);
        }
        let fresh = results
            .into_inner()
            .map_err(|_| spec_err("result lock poisoned"))?;
        let evaluated_now = fresh.len();
        for (i, o) in fresh {
            outcomes[i] = Some(o);
        }
        let outcomes: Vec<RowOutcome> = outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| o.ok_or_else(|| spec_err(format!("row {i} was not evaluated"))))
            .collect::<Result<_>>()?;
        let failed_rows = outcomes
            .iter()
            .filter(|o| matches!(o, RowOutcome::Failed(_)))
            .count();
        let outputs = self.analyze_outcomes(&outcomes)?;
        if outputs.iter().all(|o| o.indices.is_err()) {
            let msgs: Vec<String> = outputs
                .iter()
                .map(|o| {
                    format!(
                        "{}: {}",
                        o.name,
                        o.indices.as_ref().err().cloned().unwrap_or_default()
                    )
                })
                .collect();
            return Err(spec_err(format!(
                "no output could be analysed: {}",
                msgs.join("; ")
            )));
        }
        let (screened, per_output) = self.screen(&outputs);
        self.write_indices(dir, &outputs)?;
        self.write_screened(dir, &screened, &per_output)?;
        for o in &outputs {
            if let Ok(ix) = &o.indices {
                let path = dir.join(format!("ranking_{}.png", file_stem(&o.name)));
                plot_ranking(&path, &o.name, &self.spec.parameters, ix)?;
            }
        }
        Ok(StudyResults {
            outputs,
            screened,
            evaluated_now,
            failed_rows,
        })
    }

    fn manifest_json(&self) -> Result<serde_json::Value> {
        Ok(serde_json::json!({
            "spec": serde_json::to_value(&self.spec).map_err(|e| spec_err(e.to_string()))?,
            "rows": self.rows.len(),
            "design_sha256": self.design_digest(),
            "calimap_version": env!("CARGO_PKG_VERSION"),
        }))
    }

    fn write_or_check_manifest(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let ours = self.manifest_json()?;
        if path.exists() {
            let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let theirs: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::parse(&path, Some(e.line()), e.to_string()))?;
            for key in ["spec", "design_sha256"] {
                if theirs.get(key) != ours.get(key) {
                    return Err(Error::config(
                        &path,
                        key,
                        "the folder holds a different study (spec or design differs); use a new output folder",
                    ));
                }
            }
            return Ok(());
        }
        let text = serde_json::to_string_pretty(&ours).map_err(|e| spec_err(e.to_string()))?;
        write_atomic(&path, text.as_bytes())
    }

    fn header(&self) -> String {
        let mut h = vec!["row".to_string(), "status".to_string()];
        h.extend(self.spec.parameters.iter().cloned());
        h.extend(self.spec.outputs.iter().cloned());
        h.push("message".into());
        h.push(END_MARK.into());
        h.join(",") + "\n"
    }

    fn format_record(&self, i: usize, o: &RowOutcome) -> String {
        let mut f = vec![i.to_string()];
        match o {
            RowOutcome::Ok(_) => f.push("ok".into()),
            RowOutcome::Failed(_) => f.push("failed".into()),
        }
        // `{}` of an f64 is the shortest string that parses back to the same bits.
        f.extend(self.rows[i].iter().map(|v| format!("{v}")));
        match o {
            RowOutcome::Ok(v) => {
                f.extend(v.iter().map(|v| format!("{v}")));
                f.push(String::new());
            }
            RowOutcome::Failed(m) => {
                f.extend(std::iter::repeat_n(String::new(), self.spec.outputs.len()));
                let clean: String = m
                    .chars()
                    .map(|c| {
                        if c == '"' || c == '\n' || c == '\r' {
                            ' '
                        } else {
                            c
                        }
                    })
                    .collect();
                f.push(format!("\"{clean}\""));
            }
        }
        f.push(END_MARK.into());
        f.join(",") + "\n"
    }

    /// Read the complete, design-consistent records of a log; missing file is an empty log.
    fn load_log(&self, path: &Path) -> Result<Vec<Option<RowOutcome>>> {
        let mut out = vec![None; self.rows.len()];
        if !path.exists() {
            return Ok(out);
        }
        let d = self.spec.parameters.len();
        let k = self.spec.outputs.len();
        let width = 2 + d + k + 2;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_path(path)
            .map_err(|e| Error::parse(path, None, e.to_string()))?;
        let header = rdr
            .headers()
            .map_err(|e| Error::parse(path, Some(1), e.to_string()))?
            .clone();
        let header_line = self.header();
        let expected: Vec<&str> = header_line.trim_end().split(',').collect();
        if header.iter().collect::<Vec<_>>() != expected {
            return Err(Error::parse(
                path,
                Some(1),
                "log header does not match the study's parameters and outputs",
            ));
        }
        for rec in rdr.records() {
            // A record cut mid-line fails to parse or lacks the end marker: skip it.
            let Ok(rec) = rec else { continue };
            if rec.len() != width || rec.get(width - 1) != Some(END_MARK) {
                continue;
            }
            let Some(i) = rec.get(0).and_then(|s| s.parse::<usize>().ok()) else {
                continue;
            };
            if i >= self.rows.len() || out[i].is_some() {
                continue;
            }
            let x: Option<Vec<f64>> = (0..d)
                .map(|j| rec.get(2 + j).and_then(|s| s.parse().ok()))
                .collect();
            let line = rec.position().map(|p| p.line() as usize);
            match x {
                Some(x)
                    if x.iter()
                        .zip(&self.rows[i])
                        .all(|(a, b)| a.to_bits() == b.to_bits()) => {}
                _ => {
                    return Err(Error::parse(
                        path,
                        line,
                        format!("row {i}: parameter values differ from the study design"),
                    ))
                }
            }
            out[i] = match rec.get(1) {
                Some("ok") => {
                    let y: Option<Vec<f64>> = (0..k)
                        .map(|j| rec.get(2 + d + j).and_then(|s| s.parse().ok()))
                        .collect();
                    match y {
                        Some(y) => Some(RowOutcome::Ok(y)),
                        None => continue,
                    }
                }
                Some("failed") => Some(RowOutcome::Failed(
                    rec.get(2 + d + k).unwrap_or("").to_string(),
                )),
                _ => continue,
            };
        }
        Ok(out)
    }

    fn rewrite_log(&self, path: &Path, outcomes: &[Option<RowOutcome>]) -> Result<()> {
        let mut text = self.header();
        for (i, o) in outcomes.iter().enumerate() {
            if let Some(o) = o {
                text.push_str(&self.format_record(i, o));
            }
        }
        write_atomic(path, text.as_bytes())
    }

    fn write_indices(&self, dir: &Path, outputs: &[OutputResult]) -> Result<()> {
        let names = &self.spec.parameters;
        let mut text = String::new();
        let mut s2_text = String::new();
        match &self.spec.method {
            Method::Morris { .. } => text.push_str(
                "output,parameter,rank,mu,mu_star,mu_star_conf,sigma,mu_star_share,trajectories\n",
            ),
            Method::Sobol { .. } => text.push_str(
                "output,parameter,rank,S1,S1_conf,S1_low,S1_high,ST,ST_conf,ST_low,ST_high\n",
            ),
        }
        for o in outputs {
            let Ok(ix) = &o.indices else { continue };
            let rank = ranks(&screen_metric(ix));
            match ix {
                OutputIndices::Morris(m) => {
                    let share = screen_metric(ix);
                    for j in 0..names.len() {
                        text.push_str(&format!(
                            "{},{},{},{},{},{},{},{},{}\n",
                            o.name,
                            names[j],
                            rank[j],
                            m.mu[j],
                            m.mu_star[j],
                            m.mu_star_conf[j],
                            m.sigma[j],
                            share[j],
                            m.effects[j].len()
                        ));
                    }
                }
                OutputIndices::Sobol(s) => {
                    for j in 0..names.len() {
                        text.push_str(&format!(
                            "{},{},{},{},{},{},{},{},{},{},{}\n",
                            o.name,
                            names[j],
                            rank[j],
                            s.s1[j],
                            s.s1_conf[j],
                            s.s1_interval[j].0,
                            s.s1_interval[j].1,
                            s.st[j],
                            s.st_conf[j],
                            s.st_interval[j].0,
                            s.st_interval[j].1
                        ));
                    }
                    if let (Some(s2), Some(c2)) = (&s.s2, &s.s2_conf) {
                        for j in 0..names.len() {
                            for k in (j + 1)..names.len() {
                                s2_text.push_str(&format!(
                                    "{},{},{},{},{}\n",
                                    o.name, names[j], names[k], s2[j][k], c2[j][k]
                                ));
                            }
                        }
                    }
                }
            }
        }
        write_atomic(&dir.join(INDICES_FILE), text.as_bytes())?;
        if !s2_text.is_empty() {
            let full = format!("output,parameter_1,parameter_2,S2,S2_conf\n{s2_text}");
            write_atomic(&dir.join(INDICES_S2_FILE), full.as_bytes())?;
        }
        Ok(())
    }

    fn write_screened(
        &self,
        dir: &Path,
        all: &[String],
        per_output: &BTreeMap<String, Vec<String>>,
    ) -> Result<()> {
        #[derive(Serialize)]
        struct Screened<'a> {
            method: &'a str,
            metric: ScreenMetric,
            threshold: f64,
            design_sha256: String,
            parameters: &'a [String],
            registry_names: Vec<String>,
            per_output: &'a BTreeMap<String, Vec<String>>,
        }
        let method = match self.spec.method {
            Method::Morris { .. } => "morris",
            Method::Sobol { .. } => "sobol",
        };
        let s = Screened {
            method,
            metric: self.spec.screen.metric,
            threshold: self.spec.screen.threshold,
            design_sha256: self.design_digest(),
            parameters: all,
            registry_names: registry_names(all),
            per_output,
        };
        let body = toml::to_string(&s).map_err(|e| spec_err(e.to_string()))?;
        let text = format!(
            "# Parameters whose sensitivity exceeds the threshold for at least one output,\n# in registry order. A calibration experiment can reference this file to tune\n# only these parameters.\n{body}"
        );
        write_atomic(&dir.join(SCREENED_FILE), text.as_bytes())
    }
}

/// The content of a `screened.toml` a calibration needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScreenedList {
    /// Screened dimensions (`name` or `name[class]`), registry order.
    pub parameters: Vec<String>,
    /// Registry names of the screened dimensions (class suffix removed, each
    /// once), for selecting a calibration's parameter space.
    pub registry_names: Vec<String>,
}

/// Read a `screened.toml` written by a study.
pub fn read_screened(path: &Path) -> Result<ScreenedList> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| Error::parse(path, None, e.to_string()))
}

/// Registry names of expanded dimension names: `bexp[3]` -> `bexp`, each once, in order.
pub fn registry_names(dims: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in dims {
        let base = match d.find('[') {
            Some(i) if d.ends_with(']') => &d[..i],
            _ => d.as_str(),
        };
        if !out.iter().any(|o| o == base) {
            out.push(base.to_string());
        }
    }
    out
}

/// The screening metric per parameter: mu* share (Morris) or ST (Sobol).
pub fn screen_metric(ix: &OutputIndices) -> Vec<f64> {
    match ix {
        OutputIndices::Morris(m) => {
            let total: f64 = m.mu_star.iter().sum();
            m.mu_star
                .iter()
                .map(|v| if total > 0.0 { v / total } else { 0.0 })
                .collect()
        }
        OutputIndices::Sobol(s) => s.st.clone(),
    }
}

/// 1-based ranks by decreasing value (ties keep registry order).
fn ranks(v: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    let mut r = vec![0; v.len()];
    for (k, &j) in order.iter().enumerate() {
        r[j] = k + 1;
    }
    r
}

fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Write `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp{}", std::process::id()));
    {
        let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn register_font() -> Result<()> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| {
        plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        )
        .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Other("could not load the DejaVu Sans font".into()))
    }
}

/// Ranked horizontal bar chart of one output's indices: mu* with its interval
/// (Morris), or ST (light) with S1 (dark) and their intervals (Sobol). The most
/// influential parameter is at the top.
pub fn plot_ranking(path: &Path, output: &str, names: &[String], ix: &OutputIndices) -> Result<()> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    register_font()?;
    let (main, main_conf, inner, inner_conf, title, xlabel) = match ix {
        OutputIndices::Morris(m) => (
            m.mu_star.clone(),
            m.mu_star_conf.clone(),
            None,
            None,
            format!("Morris screening: {output}"),
            "mu* (mean absolute elementary effect per unit-cube range)",
        ),
        OutputIndices::Sobol(s) => (
            s.st.clone(),
            s.st_conf.clone(),
            Some(s.s1.clone()),
            Some(s.s1_conf.clone()),
            format!("Sobol indices: {output}"),
            "index (light: total order ST, dark: first order S1; bars: ST interval)",
        ),
    };
    let n = names.len();
    let rank = ranks(&main);
    let fin = |v: f64| if v.is_finite() { v } else { 0.0 };
    let mut xmax = 0.0f64;
    for j in 0..n {
        xmax = xmax.max(fin(main[j]) + fin(main_conf[j]));
        if let (Some(s), Some(c)) = (&inner, &inner_conf) {
            xmax = xmax.max(fin(s[j]) + fin(c[j]));
        }
    }
    let xmax = if xmax > 0.0 { xmax * 1.05 } else { 1.0 };
    let xmin = inner
        .as_ref()
        .map(|s| s.iter().map(|v| fin(*v)).fold(0.0f64, f64::min).min(0.0) * 1.05)
        .unwrap_or(0.0);
    let height = (120 + 36 * n as u32).max(300);
    let pe = |e: &dyn std::fmt::Display| Error::Other(format!("{}: plotting: {e}", path.display()));
    let tmp = path.with_extension("tmp.png");
    {
        let root = BitMapBackend::new(&tmp, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| pe(&e))?;
        let label_width = names.iter().map(|s| s.len()).max().unwrap_or(4) as u32 * 9 + 20;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(label_width.min(350))
            .build_cartesian_2d(xmin..xmax, 0.0..n as f64)
            .map_err(|e| pe(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(0)
            .x_desc(xlabel)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(|e| pe(&e))?;
        let light = RGBColor(158, 202, 225);
        let dark = RGBColor(33, 113, 181);
        let bar_colour = if inner.is_some() { light } else { dark };
        let label_style = TextStyle::from(("sans-serif", 15).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for j in 0..n {
            // The parameter ranked k sits in band n - k from the bottom.
            let y0 = (n - rank[j]) as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y0 + 0.15), (fin(main[j]), y0 + 0.85)],
                    bar_colour.filled(),
                )))
                .map_err(|e| pe(&e))?;
            if let Some(s1) = &inner {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, y0 + 0.35), (fin(s1[j]), y0 + 0.65)],
                        dark.filled(),
                    )))
                    .map_err(|e| pe(&e))?;
            }
            let c = fin(main_conf[j]);
            if c > 0.0 {
                let v = fin(main[j]);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(v - c, y0 + 0.5), (v + c, y0 + 0.5)],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(|e| pe(&e))?;
            }
            let (px, py) = chart.backend_coord(&(xmin, y0 + 0.5));
            root.draw(&Text::new(
                names[j].clone(),
                (px - 8, py),
                label_style.clone(),
            ))
            .map_err(|e| pe(&e))?;
        }
        root.present().map_err(|e| pe(&e))?;
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_strip_classes() {
        let d: Vec<String> = ["bexp[1]", "bexp[7]", "quartz", "psisat[2]"]
            .map(String::from)
            .to_vec();
        assert_eq!(registry_names(&d), vec!["bexp", "quartz", "psisat"]);
    }

    #[test]
    fn ranks_descend() {
        assert_eq!(ranks(&[0.1, 0.5, 0.3, 0.5]), vec![4, 1, 3, 2]);
    }

    #[test]
    fn spec_round_trips_through_toml() {
        let text = r#"
            parameters = ["a", "b"]
            outputs = ["alt"]
            batch = 2
            [method]
            method = "sobol"
            n = 64
            sampling = { kind = "sobol", skip = 0 }
            analysis = { bootstrap = 100, seed = 3 }
            [screen]
            metric = "total_order"
            threshold = 0.05
        "#;
        let spec: StudySpec = toml::from_str(text).unwrap();
        let study = Study::new(spec.clone()).unwrap();
        assert_eq!(study.design().len(), 64 * 4);
        let back: StudySpec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
        let bad = StudySpec {
            screen: ScreenRule {
                metric: ScreenMetric::MuStarShare,
                threshold: 0.1,
            },
            ..spec
        };
        assert!(Study::new(bad).is_err());
    }
}
