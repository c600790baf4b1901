//! The calibration loop: ask the optimiser, evaluate the batch in parallel,
//! append every finished evaluation to the log, tell the optimiser, stop on
//! budget, wall clock or stagnation; resume exactly from an existing log.
//!
//! Recipe of one iteration:
//! 1. stop if the budget is spent, the wall clock is over, or the best value
//!    has not improved over the last `stagnation` evaluations;
//! 2. `ask` the optimiser for up to `q` points of the unit cube and map them to
//!    physical parameter sets;
//! 3. points whose evaluation is already in the log (a resumed run) take the
//!    logged result; the proposal must match the logged parameters exactly;
//! 4. points that break a bound or cross-parameter constraint are failed
//!    evaluations, logged without running the model;
//! 5. the others are evaluated in parallel; each result is appended to the log,
//!    flushed and fsynced the moment it finishes;
//! 6. failed evaluations are penalised with the worst successful value so far
//!    (0 before any success); the values, signed so that the optimiser
//!    minimises, are told to the optimiser in proposal order.
//!
//! Because the optimisers are deterministic given their seed and the told
//! values, replaying a log reproduces the same proposals, so an interrupted
//! and resumed run ends with the same evaluations and result as an
//! uninterrupted one (the wall-clock limit is the only criterion that depends
//! on timing).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::optimizer::Optimizer;
use super::registry::{write_atomic, ParamSet, ParamSpace};
use crate::{Error, Result};

/// Whether the reported objective is minimised or maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smaller is better (RMSE, test functions).
    Minimise,
    /// Larger is better (Kappa, OA).
    Maximise,
}

impl Direction {
    /// Sign that turns the objective into a value to minimise.
    pub fn sign(&self) -> f64 {
        match self {
            Direction::Minimise => 1.0,
            Direction::Maximise => -1.0,
        }
    }

    /// `true` if `a` is strictly better than `b`.
    pub fn better(&self, a: f64, b: f64) -> bool {
        self.sign() * a < self.sign() * b
    }
}

/// Outcome of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalStatus {
    /// The model ran and was scored.
    Ok,
    /// The model or the parameter check failed; the message says why.
    Failed(String),
}

/// One evaluated parameter set.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The reported objective (e.g. Kappa); NaN when failed.
    pub value: f64,
    /// A continuous, tie-broken version of the objective given to the
    /// surrogate (same direction as `value`); NaN when failed.
    pub surrogate_value: f64,
    /// Extra metrics, aligned with [`BatchObjective::metric_names`] (e.g. OA).
    pub metrics: Vec<f64>,
    /// Success or failure.
    pub status: EvalStatus,
    /// Wall-clock seconds of the evaluation.
    pub seconds: f64,
}

impl Evaluation {
    /// A successful evaluation whose surrogate signal is the value itself.
    pub fn ok(value: f64) -> Self {
        Evaluation {
            value,
            surrogate_value: value,
            metrics: Vec::new(),
            status: EvalStatus::Ok,
            seconds: 0.0,
        }
    }

    /// A failed evaluation.
    pub fn failed(msg: impl Into<String>) -> Self {
        Evaluation {
            value: f64::NAN,
            surrogate_value: f64::NAN,
            metrics: Vec::new(),
            status: EvalStatus::Failed(msg.into()),
            seconds: 0.0,
        }
    }

    /// `true` when the evaluation succeeded with finite values.
    pub fn is_ok(&self) -> bool {
        self.status == EvalStatus::Ok && self.value.is_finite() && self.surrogate_value.is_finite()
    }
}

/// An objective that evaluates a batch of parameter sets (in parallel) and
/// reports each result through `done(index_in_batch, evaluation)` as soon as it
/// finishes. It must call `done` exactly once per set.
pub trait BatchObjective: Sync {
    /// Minimised or maximised.
    fn direction(&self) -> Direction;
    /// Names of the extra metrics of each evaluation.
    fn metric_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Evaluate `sets`; never panics, failures are [`EvalStatus::Failed`].
    fn evaluate_batch(&self, sets: &[ParamSet], done: &(dyn Fn(usize, Evaluation) + Sync));
}

/// An objective evaluated one parameter set at a time; the batch is run with
/// rayon, an `Err` or a panic becomes a failed evaluation.
pub trait PointObjective: Sync {
    /// Minimised or maximised.
    fn direction(&self) -> Direction;
    /// Names of the extra metrics of each evaluation.
    fn metric_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Evaluate one set (`seconds` is filled in by the caller).
    fn evaluate(&self, set: &ParamSet) -> Result<Evaluation>;
}

impl<T: PointObjective> BatchObjective for T {
    fn direction(&self) -> Direction {
        PointObjective::direction(self)
    }
    fn metric_names(&self) -> Vec<String> {
        PointObjective::metric_names(self)
    }
    fn evaluate_batch(&self, sets: &[ParamSet], done: &(dyn Fn(usize, Evaluation) + Sync)) {
        (0..sets.len()).into_par_iter().for_each(|i| {
            let t0 = Instant::now();
            let res =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.evaluate(&sets[i])));
            let mut ev = match res {
                Ok(Ok(ev)) => ev,
                Ok(Err(e)) => Evaluation::failed(e.to_string()),
                Err(p) => {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "evaluation panicked".into());
                    Evaluation::failed(format!("panic: {msg}"))
                }
            };
            ev.seconds = t0.elapsed().as_secs_f64();
            done(i, ev);
        });
    }
}

/// Options of [`calibrate`].
#[derive(Debug, Clone)]
pub struct CalibrationOptions {
    /// Maximum number of evaluations (failed ones included).
    pub budget: usize,
    /// Stop before a new batch once this much time has passed (not reproducible).
    pub wall_clock: Option<Duration>,
    /// Stop when the best value has not improved over this many evaluations.
    pub stagnation: Option<usize>,
    /// Points per optimiser iteration, evaluated in parallel.
    pub q: usize,
    /// Seed the optimiser was built with; recorded beside the log and checked on resume.
    pub seed: u64,
    /// Ensemble size for the top-K table.
    pub top_k: usize,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions {
            budget: 100,
            wall_clock: None,
            stagnation: None,
            q: 1,
            seed: 0,
            top_k: 13,
        }
    }
}

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The evaluation budget is spent.
    Budget,
    /// The wall-clock budget is spent.
    WallClock,
    /// No improvement over the stagnation window.
    Stagnation,
}

/// One logged evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 0-based proposal number.
    pub id: usize,
    /// 0-based optimiser iteration that proposed it.
    pub batch: usize,
    /// The point in the unit cube.
    pub unit: Vec<f64>,
    /// The full physical parameter set.
    pub params: ParamSet,
    /// The result.
    pub evaluation: Evaluation,
}

/// What [`calibrate`] returns.
#[derive(Debug, Clone)]
pub struct CalibrationResult {
    /// Every evaluation in proposal order.
    pub records: Vec<Record>,
    /// Index into `records` of the best successful evaluation.
    pub best: Option<usize>,
    /// Indices into `records` of the top K successful evaluations, best first.
    pub top_k: Vec<usize>,
    /// Why the loop stopped.
    pub stop: StopReason,
    /// Evaluations taken from an existing log.
    pub replayed: usize,
    /// Evaluations run by this call.
    pub evaluated: usize,
    /// Optimiser seconds per iteration.
    pub ask_seconds: Vec<f64>,
    /// Optimiser seconds of the iterations that fitted a surrogate (GP fit +
    /// acquisition optimisation), the per-iteration overhead of BO.
    pub model_ask_seconds: Vec<f64>,
    /// Evaluation seconds of the evaluations run by this call.
    pub eval_seconds: Vec<f64>,
    /// Direction of the objective.
    pub direction: Direction,
}

impl CalibrationResult {
    /// The best reported value, if any evaluation succeeded.
    pub fn best_value(&self) -> Option<f64> {
        self.best.map(|i| self.records[i].evaluation.value)
    }

    /// Best value after each evaluation (NaN before the first success).
    pub fn best_trace(&self) -> Vec<f64> {
        let mut best = f64::NAN;
        self.records
            .iter()
            .map(|r| {
                let e = &r.evaluation;
                if e.is_ok() && (best.is_nan() || self.direction.better(e.value, best)) {
                    best = e.value;
                }
                best
            })
            .collect()
    }
}

fn fmt_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"").replace(['\n', '\r'], " "))
    } else {
        s.to_string()
    }
}

struct LogLayout {
    dims: Vec<String>,
    metrics: Vec<String>,
}

impl LogLayout {
    fn header(&self) -> Vec<String> {
        let mut h = vec!["id".to_string(), "batch".to_string()];
        h.extend(self.dims.iter().cloned());
        h.push("value".into());
        h.push("surrogate".into());
        h.extend(self.metrics.iter().cloned());
        h.push("seconds".into());
        h.push("message".into());
        h.push("status".into());
        h
    }

    fn line(&self, id: usize, batch: usize, dim_values: &[f64], e: &Evaluation) -> String {
        let mut f = vec![id.to_string(), batch.to_string()];
        f.extend(dim_values.iter().map(|v| fmt_f(*v)));
        f.push(fmt_f(e.value));
        f.push(fmt_f(e.surrogate_value));
        for i in 0..self.metrics.len() {
            f.push(fmt_f(e.metrics.get(i).copied().unwrap_or(f64::NAN)));
        }
        f.push(fmt_f(e.seconds));
        match &e.status {
            EvalStatus::Ok => {
                f.push(String::new());
                f.push("ok".into());
            }
            EvalStatus::Failed(m) => {
                f.push(csv_field(m));
                f.push("failed".into());
            }
        }
        let mut s = f.join(",");
        s.push('\n');
        s
    }
}

/// A logged row: proposal id, batch, dimension values as written, evaluation.
struct LoggedRow {
    batch: usize,
    dim_text: Vec<String>,
    evaluation: Evaluation,
}

/// Read an existing log. Only newline-terminated rows count (a row cut by a
/// crash is dropped and its evaluation re-run). Returns the rows by id and the
/// text of the valid rows.
fn read_log(path: &Path, layout: &LogLayout) -> Result<(BTreeMap<usize, LoggedRow>, String)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut rows = BTreeMap::new();
    let header = layout.header();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(complete.as_bytes());
    let nm = layout.metrics.len();
    let nd = layout.dims.len();
    for (k, rec) in rdr.records().enumerate() {
        let line = k + 1;
        let rec = rec.map_err(|e| Error::parse(path, Some(line), e.to_string()))?;
        if k == 0 {
            let got: Vec<&str> = rec.iter().collect();
            if got != header.iter().map(|s| s.as_str()).collect::<Vec<_>>() {
                return Err(Error::parse(
                    path,
                    Some(1),
                    format!(
                        "log header does not match this calibration: expected `{}`",
                        header.join(",")
                    ),
                ));
            }
            continue;
        }
        if rec.len() != header.len() {
            return Err(Error::parse(
                path,
                Some(line),
                format!("{} fields, expected {}", rec.len(), header.len()),
            ));
        }
        let num = |i: usize| -> Result<f64> {
            let s = &rec[i];
            s.parse::<f64>().map_err(|_| {
                Error::parse(
                    path,
                    Some(line),
                    format!("column `{}`: `{s}` is not a number", header[i]),
                )
            })
        };
        let int = |i: usize| -> Result<usize> {
            rec[i].parse::<usize>().map_err(|_| {
                Error::parse(
                    path,
                    Some(line),
                    format!("column `{}`: `{}` is not an integer", header[i], &rec[i]),
                )
            })
        };
        let id = int(0)?;
        let batch = int(1)?;
        let dim_text: Vec<String> = (0..nd).map(|i| rec[2 + i].to_string()).collect();
        let value = num(2 + nd)?;
        let surrogate_value = num(3 + nd)?;
        let metrics = (0..nm)
            .map(|i| num(4 + nd + i))
            .collect::<Result<Vec<_>>>()?;
        let seconds = num(4 + nd + nm)?;
        let message = rec[5 + nd + nm].to_string();
        let status = match &rec[6 + nd + nm] {
            "ok" => EvalStatus::Ok,
            "failed" => EvalStatus::Failed(message),
            other => {
                return Err(Error::parse(
                    path,
                    Some(line),
                    format!("status `{other}` is not ok or failed"),
                ))
            }
        };
        if rows.contains_key(&id) {
            return Err(Error::parse(
                path,
                Some(line),
                format!("evaluation id {id} is logged twice"),
            ));
        }
        let evaluation = Evaluation {
            value,
            surrogate_value,
            metrics,
            status,
            seconds,
        };
        rows.insert(
            id,
            LoggedRow {
                batch,
                dim_text,
                evaluation,
            },
        );
    }
    let kept = if complete.is_empty() {
        format!("{}\n", header.join(","))
    } else {
        complete.to_string()
    };
    Ok((rows, kept))
}

struct LogWriter {
    path: PathBuf,
    file: File,
}

impl LogWriter {
    fn append(&mut self, line: &str) -> Result<()> {
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .and_then(|_| self.file.sync_data())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// The run description written beside the log (`<log>.json`) and checked on resume.
fn manifest(
    opt: &dyn Optimizer,
    opts: &CalibrationOptions,
    space: &ParamSpace,
) -> serde_json::Value {
    serde_json::json!({
        "optimizer": opt.name(),
        "seed": opts.seed,
        "q": opts.q,
        "model": space.registry.model,
        "dims": space.names(),
        "calimap_version": env!("CARGO_PKG_VERSION"),
    })
}

fn manifest_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// Run (or resume) a calibration.
///
/// `log_path` is the evaluation log; if it exists, its evaluations are replayed
/// into the optimiser instead of being re-run (see the module docs). The
/// optimiser must be freshly built with `opts.seed`. `progress` shows an
/// indicatif bar on stderr.
pub fn calibrate(
    objective: &dyn BatchObjective,
    space: &ParamSpace,
    optimizer: &mut dyn Optimizer,
    opts: &CalibrationOptions,
    log_path: &Path,
    progress: bool,
) -> Result<CalibrationResult> {
    let t_start = Instant::now();
    if optimizer.dim() != space.dim() {
        return Err(Error::Other(format!(
            "optimiser has {} dimensions, parameter space {}",
            optimizer.dim(),
            space.dim()
        )));
    }
    if opts.q == 0 {
        return Err(Error::Other("calibration: q must be at least 1".into()));
    }
    let direction = objective.direction();
    let layout = LogLayout {
        dims: space.names(),
        metrics: objective.metric_names(),
    };

    // Open the log: replay an existing one, or start a new one.
    let man = manifest(optimizer, opts, space);
    let mpath = manifest_path(log_path);
    let mut logged = BTreeMap::new();
    if log_path.exists() {
        if let Ok(text) = std::fs::read_to_string(&mpath) {
            let old: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::parse(&mpath, None, e.to_string()))?;
            for key in ["optimizer", "seed", "q", "model", "dims"] {
                if old.get(key) != man.get(key) {
                    return Err(Error::config(
                        &mpath,
                        key,
                        format!(
                            "the existing log was made with {key} = {}, this run has {}; use a new log to start afresh",
                            old.get(key).cloned().unwrap_or_default(),
                            man.get(key).cloned().unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        let (rows, kept) = read_log(log_path, &layout)?;
        // Rewrite the valid rows so a row cut by a crash does not linger.
        write_atomic(log_path, kept.as_bytes())?;
        logged = rows;
    } else {
        if let Some(dir) = log_path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut h = layout.header().join(",");
        h.push('\n');
        write_atomic(log_path, h.as_bytes())?;
    }
    write_atomic(
        &mpath,
        serde_json::to_string_pretty(&man)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(log_path)
        .map_err(|e| Error::io(log_path, e))?;
    let writer = Mutex::new(LogWriter {
        path: log_path.to_path_buf(),
        file,
    });

    let bar = if progress {
        indicatif::ProgressBar::new(opts.budget as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} evaluations  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );

    let mut records: Vec<Record> = Vec::new();
    let mut ask_seconds = Vec::new();
    let mut model_ask_seconds = Vec::new();
    let mut eval_seconds = Vec::new();
    let mut replayed = 0;
    let mut evaluated = 0;
    let mut best: Option<usize> = None;
    let mut since_improvement = 0usize;
    let mut worst_min: Option<f64> = None; // worst successful value, minimisation sign
    let mut batch_no = 0usize;

    let stop = loop {
        // 1. Stopping criteria.
        if records.len() >= opts.budget {
            break StopReason::Budget;
        }
        if let Some(s) = opts.stagnation {
            if s > 0 && records.len() >= s && since_improvement >= s {
                break StopReason::Stagnation;
            }
        }
        if let Some(w) = opts.wall_clock {
            if t_start.elapsed() >= w {
                break StopReason::WallClock;
            }
        }

        // 2. Ask.
        let q = opts.q.min(opts.budget - records.len());
        let mut xs = optimizer.ask(q)?;
        xs.truncate(q);
        if xs.is_empty() {
            return Err(Error::Other(format!(
                "optimiser `{}` proposed no point",
                optimizer.name()
            )));
        }
        ask_seconds.push(optimizer.last_ask_seconds());
        if optimizer.last_ask_used_model() {
            model_ask_seconds.push(optimizer.last_ask_seconds());
        }
        let first_id = records.len();
        let sets = xs
            .iter()
            .map(|x| space.to_physical(x))
            .collect::<Result<Vec<_>>>()?;

        // 3./4. Logged results, constraint failures, and points to run.
        let mut results: Vec<Option<Evaluation>> = vec![None; xs.len()];
        let mut to_run = Vec::new();
        for (k, set) in sets.iter().enumerate() {
            let id = first_id + k;
            let dim_vals = space.dim_values(set);
            if let Some(row) = logged.get(&id) {
                let text: Vec<String> = dim_vals.iter().map(|v| fmt_f(*v)).collect();
                if text != row.dim_text || row.batch != batch_no {
                    return Err(Error::parse(
                        log_path,
                        None,
                        format!(
                            "evaluation {id} in the log does not match the optimiser's proposal \
                             (log from another seed, optimiser or space?); use a new log"
                        ),
                    ));
                }
                results[k] = Some(row.evaluation.clone());
                replayed += 1;
            } else if let Err(e) = space.check(set) {
                let ev = Evaluation::failed(format!("constraint: {e}"));
                let line = layout.line(id, batch_no, &dim_vals, &ev);
                writer
                    .lock()
                    .map_err(|_| Error::Other("log writer poisoned".into()))?
                    .append(&line)?;
                results[k] = Some(ev);
                evaluated += 1;
            } else {
                to_run.push(k);
            }
        }

        // 5. Evaluate in parallel; log each result as it finishes.
        if !to_run.is_empty() {
            let run_sets: Vec<ParamSet> = to_run.iter().map(|&k| sets[k].clone()).collect();
            let slots: Mutex<Vec<Option<Evaluation>>> = Mutex::new(vec![None; to_run.len()]);
            let first_err: Mutex<Option<Error>> = Mutex::new(None);
            let done = |i: usize, ev: Evaluation| {
                let Some(&k) = to_run.get(i) else { return };
                let id = first_id + k;
                let line = layout.line(id, batch_no, &space.dim_values(&sets[k]), &ev);
                let res = match writer.lock() {
                    Ok(mut w) => w.append(&line),
                    Err(_) => Err(Error::Other("log writer poisoned".into())),
                };
                if let Err(e) = res {
                    if let Ok(mut fe) = first_err.lock() {
                        fe.get_or_insert(e);
                    }
                }
                if let Ok(mut s) = slots.lock() {
                    s[i] = Some(ev);
                }
                bar.inc(1);
            };
            objective.evaluate_batch(&run_sets, &done);
            if let Some(e) = first_err.into_inner().ok().flatten() {
                return Err(e);
            }
            let slots = slots
                .into_inner()
                .map_err(|_| Error::Other("evaluation results poisoned".into()))?;
            for (i, s) in slots.into_iter().enumerate() {
                let k = to_run[i];
                let ev = match s {
                    Some(ev) => ev,
                    None => {
                        // The objective broke its contract; record a failure.
                        let ev = Evaluation::failed("objective returned no result");
                        let line =
                            layout.line(first_id + k, batch_no, &space.dim_values(&sets[k]), &ev);
                        writer
                            .lock()
                            .map_err(|_| Error::Other("log writer poisoned".into()))?
                            .append(&line)?;
                        ev
                    }
                };
                eval_seconds.push(ev.seconds);
                results[k] = Some(ev);
                evaluated += 1;
            }
        }

        // 6. Penalise failures, update the best, tell the optimiser.
        let evs: Vec<Evaluation> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Evaluation::failed("missing")))
            .collect();
        for e in evs.iter().filter(|e| e.is_ok()) {
            let v = direction.sign() * e.surrogate_value;
            worst_min = Some(worst_min.map_or(v, |w: f64| w.max(v)));
        }
        let penalty = worst_min.unwrap_or(0.0);
        let ys: Vec<f64> = evs
            .iter()
            .map(|e| {
                if e.is_ok() {
                    direction.sign() * e.surrogate_value
                } else {
                    penalty
                }
            })
            .collect();
        for (k, (ev, (x, set))) in evs.into_iter().zip(xs.iter().zip(sets)).enumerate() {
            let idx = records.len();
            let improved = ev.is_ok()
                && best.is_none_or(|b| direction.better(ev.value, records[b].evaluation.value));
            if improved {
                best = Some(idx);
                since_improvement = 0;
            } else {
                since_improvement += 1;
            }
            records.push(Record {
                id: first_id + k,
                batch: batch_no,
                unit: x.clone(),
                params: set,
                evaluation: ev,
            });
        }
        optimizer.tell(&xs, &ys)?;
        bar.set_position(records.len() as u64);
        if let Some(b) = best {
            bar.set_message(format!("best {:.6}", records[b].evaluation.value));
        }
        batch_no += 1;
    };
    bar.finish_and_clear();

    let top_k = rank(&records, direction, opts.top_k);
    Ok(CalibrationResult {
        records,
        best,
        top_k,
        stop,
        replayed,
        evaluated,
        ask_seconds,
        model_ask_seconds,
        eval_seconds,
        direction,
    })
}

/// Indices of the `k` best successful records by reported value (ties broken
/// by the surrogate value, then by id).
pub fn rank(records: &[Record], direction: Direction, k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].evaluation.is_ok())
        .collect();
    let s = direction.sign();
    idx.sort_by(|&a, &b| {
        let (ea, eb) = (&records[a].evaluation, &records[b].evaluation);
        (s * ea.value)
            .total_cmp(&(s * eb.value))
            .then((s * ea.surrogate_value).total_cmp(&(s * eb.surrogate_value)))
            .then(records[a].id.cmp(&records[b].id))
    });
    idx.truncate(k);
    idx
}

/// Write the best parameter set (TOML, loadable with [`ParamSet::load`]) and
/// the top-K table (CSV: rank, id, value, surrogate, metrics, parameters).
pub fn write_outputs(
    result: &CalibrationResult,
    space: &ParamSpace,
    metric_names: &[String],
    best_path: &Path,
    top_k_path: &Path,
) -> Result<()> {
    if let Some(b) = result.best {
        result.records[b].params.save(best_path, &space.registry)?;
    }
    let mut s = String::from("rank,id,value,surrogate");
    for m in metric_names {
        s.push(',');
        s.push_str(&csv_field(m));
    }
    for n in &result
        .records
        .first()
        .map(|r| r.params.names.clone())
        .unwrap_or_default()
    {
        s.push(',');
        s.push_str(&csv_field(n));
    }
    s.push('\n');
    for (rank, &i) in result.top_k.iter().enumerate() {
        let r = &result.records[i];
        let mut f = vec![
            (rank + 1).to_string(),
            r.id.to_string(),
            fmt_f(r.evaluation.value),
            fmt_f(r.evaluation.surrogate_value),
        ];
        f.extend(r.evaluation.metrics.iter().map(|v| fmt_f(*v)));
        f.extend(r.params.values.iter().map(|v| fmt_f(*v)));
        s.push_str(&f.join(","));
        s.push('\n');
    }
    write_atomic(top_k_path, s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::optimizer::{BayesOpt, BoConfig, OptimizerKind};
    use crate::calibrate::testfn::{TestFn, TestObjective};

    fn opts(budget: usize, q: usize, seed: u64) -> CalibrationOptions {
        CalibrationOptions {
            budget,
            q,
            seed,
            ..Default::default()
        }
    }

    #[test]
    fn bo_finds_branin_within_one_percent_in_50_evaluations() {
        let f = TestFn::Branin;
        let space = f.space().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut bo = BayesOpt::new(2, 7, BoConfig::default()).unwrap();
        let res = calibrate(
            &TestObjective::new(f),
            &space,
            &mut bo,
            &opts(50, 1, 7),
            &dir.path().join("log.csv"),
            false,
        )
        .unwrap();
        let best = res.best_value().unwrap();
        assert_eq!(res.records.len(), 50);
        assert!(f.within(best, 0.01), "best {best} vs {}", f.optimum());
        // The trace reaches 1 % before the end of the budget.
        let first = res
            .best_trace()
            .iter()
            .position(|v| f.within(*v, 0.01))
            .unwrap();
        assert!(first < 50);
    }

    fn run_log(
        kind: OptimizerKind,
        f: TestFn,
        o: &CalibrationOptions,
        log: &Path,
    ) -> CalibrationResult {
        let space = f.space().unwrap();
        let mut opt = kind.build(space.dim(), o.budget, o.seed).unwrap();
        calibrate(&TestObjective::new(f), &space, opt.as_mut(), o, log, false).unwrap()
    }

    fn same_records(a: &CalibrationResult, b: &CalibrationResult) {
        assert_eq!(a.records.len(), b.records.len());
        for (ra, rb) in a.records.iter().zip(&b.records) {
            assert_eq!(ra.id, rb.id);
            assert_eq!(ra.unit, rb.unit, "proposal {}", ra.id);
            assert_eq!(ra.evaluation.value, rb.evaluation.value);
            assert_eq!(ra.evaluation.status, rb.evaluation.status);
        }
        assert_eq!(a.best, b.best);
        assert_eq!(a.top_k, b.top_k);
    }

    #[test]
    fn resume_from_a_truncated_log_equals_an_uninterrupted_run() {
        let dir = tempfile::tempdir().unwrap();
        for kind in [OptimizerKind::Bo, OptimizerKind::Pso, OptimizerKind::Lhs] {
            let o = opts(24, 3, 5);
            let f = TestFn::Branin;
            let clean_log = dir.path().join(format!("clean-{}.csv", kind.as_str()));
            let clean = run_log(kind, f, &o, &clean_log);
            assert_eq!(clean.evaluated, 24);
            // Simulate a crash: keep the header and 10 rows (mid-batch), plus half a row.
            let text = std::fs::read_to_string(&clean_log).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let mut cut = lines[..11].join("\n");
            cut.push('\n');
            cut.push_str(&lines[11][..lines[11].len() / 2]);
            let log = dir.path().join(format!("resumed-{}.csv", kind.as_str()));
            std::fs::write(&log, cut).unwrap();
            std::fs::copy(manifest_path(&clean_log), manifest_path(&log)).unwrap();
            let resumed = run_log(kind, f, &o, &log);
            assert_eq!(resumed.replayed, 10, "{}", kind.as_str());
            assert_eq!(resumed.evaluated, 14);
            same_records(&clean, &resumed);
            // The log has every id exactly once.
            let text = std::fs::read_to_string(&log).unwrap();
            let mut ids: Vec<usize> = text
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap().parse().unwrap())
                .collect();
            ids.sort_unstable();
            assert_eq!(ids, (0..24).collect::<Vec<_>>());
            // Resuming a finished run evaluates nothing.
            let again = run_log(kind, f, &o, &log);
            assert_eq!((again.replayed, again.evaluated), (24, 0));
            same_records(&clean, &again);
        }
    }

    #[test]
    fn resume_with_another_seed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.csv");
        run_log(OptimizerKind::Random, TestFn::Branin, &opts(4, 2, 1), &log);
        let space = TestFn::Branin.space().unwrap();
        let mut opt = OptimizerKind::Random.build(2, 4, 2).unwrap();
        let err = calibrate(
            &TestObjective::new(TestFn::Branin),
            &space,
            opt.as_mut(),
            &opts(4, 2, 2),
            &log,
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("seed"), "{err}");
    }

    #[test]
    fn failed_evaluations_are_recorded_and_penalised() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.csv");
        let f = TestFn::Branin;
        let space = f.space().unwrap();
        let obj = TestObjective {
            func: f,
            sleep: Duration::ZERO,
            fail_above_x0: Some(0.6),
        };
        let mut bo = BayesOpt::new(2, 3, BoConfig::default()).unwrap();
        let res = calibrate(&obj, &space, &mut bo, &opts(20, 2, 3), &log, false).unwrap();
        assert_eq!(res.records.len(), 20);
        let failed: Vec<&Record> = res
            .records
            .iter()
            .filter(|r| matches!(r.evaluation.status, EvalStatus::Failed(_)))
            .collect();
        assert!(!failed.is_empty());
        for r in &failed {
            assert!(r.unit[0] > 0.6);
        }
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.matches(",failed\n").count(), failed.len());
        assert!(text.contains("failing region"));
        let b = res.best.unwrap();
        assert!(res.records[b].evaluation.is_ok());
        assert!(res.top_k.iter().all(|&i| res.records[i].evaluation.is_ok()));
    }

    #[test]
    fn constraint_violations_fail_without_running_the_model() {
        use crate::calibrate::registry::{Constraint, ParamSpec, Registry};
        let reg = Registry::from_specs(
            "t",
            vec![
                ParamSpec::global("a", "-", 0.2, 0.0, 1.0),
                ParamSpec::global("b", "-", 0.8, 0.0, 1.0),
            ],
            vec![Constraint {
                increasing: vec!["a".into(), "b".into()],
                strict: true,
            }],
        )
        .unwrap();
        let space = ParamSpace::all(reg);
        struct Counting(std::sync::atomic::AtomicUsize);
        impl PointObjective for Counting {
            fn direction(&self) -> Direction {
                Direction::Maximise
            }
            fn evaluate(&self, set: &ParamSet) -> Result<Evaluation> {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(Evaluation::ok(set.values[1] - set.values[0]))
            }
        }
        let obj = Counting(Default::default());
        let dir = tempfile::tempdir().unwrap();
        let mut opt = OptimizerKind::Random.build(2, 30, 9).unwrap();
        let res = calibrate(
            &obj,
            &space,
            opt.as_mut(),
            &opts(30, 5, 9),
            &dir.path().join("l.csv"),
            false,
        )
        .unwrap();
        let n_failed = res.records.iter().filter(|r| !r.evaluation.is_ok()).count();
        assert!(n_failed > 0);
        assert_eq!(
            obj.0.load(std::sync::atomic::Ordering::SeqCst),
            30 - n_failed
        );
        for r in &res.records {
            assert_eq!(
                r.evaluation.is_ok(),
                r.params.values[0] < r.params.values[1]
            );
        }
        // Maximisation: the best is the largest b - a.
        let best = res.best_value().unwrap();
        assert!(res
            .records
            .iter()
            .filter(|r| r.evaluation.is_ok())
            .all(|r| r.evaluation.value <= best));
    }

    #[test]
    fn stagnation_stops_early() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(500, 1, 4);
        o.stagnation = Some(15);
        let res = run_log(
            OptimizerKind::Random,
            TestFn::Sphere(3),
            &o,
            &dir.path().join("l.csv"),
        );
        assert_eq!(res.stop, StopReason::Stagnation);
        assert!(res.records.len() < 500);
        let trace = res.best_trace();
        let n = trace.len();
        assert_eq!(trace[n - 1], trace[n - 16]);
    }

    #[test]
    fn wall_clock_budget_stops_the_loop() {
        let dir = tempfile::tempdir().unwrap();
        let f = TestFn::Sphere(2);
        let space = f.space().unwrap();
        let obj = TestObjective {
            func: f,
            sleep: Duration::from_millis(30),
            fail_above_x0: None,
        };
        let mut o = opts(1000, 1, 1);
        o.wall_clock = Some(Duration::from_millis(200));
        let mut opt = OptimizerKind::Random.build(2, 1000, 1).unwrap();
        let res = calibrate(
            &obj,
            &space,
            opt.as_mut(),
            &o,
            &dir.path().join("l.csv"),
            false,
        )
        .unwrap();
        assert_eq!(res.stop, StopReason::WallClock);
        assert!(!res.records.is_empty() && res.records.len() < 1000);
        assert_eq!(res.eval_seconds.len(), res.records.len());
        assert!(res.eval_seconds.iter().all(|s| *s >= 0.03));
    }

    #[test]
    fn outputs_best_toml_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let f = TestFn::Hartmann6;
        let res = run_log(
            OptimizerKind::Lhs,
            f,
            &opts(20, 4, 2),
            &dir.path().join("l.csv"),
        );
        let space = f.space().unwrap();
        let best = dir.path().join("best.toml");
        let top = dir.path().join("top.csv");
        write_outputs(&res, &space, &[], &best, &top).unwrap();
        let set = ParamSet::load(&best, &space.registry).unwrap();
        assert_eq!(f.eval(&set.values), res.best_value().unwrap());
        let table = std::fs::read_to_string(&top).unwrap();
        assert_eq!(table.lines().count(), 1 + 13);
    }
}
