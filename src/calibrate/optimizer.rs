//! Optimisers behind one ask/tell trait.
//!
//! Every optimiser works in the unit cube `[0, 1]^d` (the [`ParamSpace`]
//! maps it to physical values, log-transformed dimensions included) and
//! **minimises** the values it is told. The calibration loop negates objectives
//! that are maximised (Kappa) before telling them.
//!
//! Implementations:
//! - [`RandomSearch`]: independent uniform points;
//! - [`LatinHypercube`]: successive seeded Latin-hypercube designs;
//! - [`ParticleSwarm`]: argmin's particle swarm, its executor running in a
//!   worker thread and bridged to ask/tell through channels;
//! - [`BayesOpt`]: Gaussian-process EGO through egobox-ego's ask/tell service
//!   (per-dimension length scales fitted by marginal likelihood, (log) expected
//!   improvement, initial Latin-hypercube design, q points per iteration by
//!   kriging believer or constant liar), optionally inside a trust region
//!   around the best point ([`TrustRegion`]).
//!
//! All are seeded: the same seed and the same sequence of `ask`/`tell` calls
//! give the same proposals, which is what makes resume-from-log exact.
//!
//! [`ParamSpace`]: super::registry::ParamSpace

use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{Error, Result};

/// An ask/tell optimiser that minimises over the unit cube `[0, 1]^d`.
pub trait Optimizer: Send {
    /// Short name (`bo`, `random`, `lhs`, `pso`).
    fn name(&self) -> &str;

    /// Dimension of the search space.
    fn dim(&self) -> usize;

    /// Propose between 1 and `q` points in `[0, 1]^d` to evaluate next.
    ///
    /// The caller must `tell` the values of exactly these points, in this
    /// order, before the next `ask`.
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>>;

    /// Report the values (to be minimised) of the points of the last `ask`.
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()>;

    /// Seconds spent inside the last `ask` (surrogate fit + acquisition for BO).
    fn last_ask_seconds(&self) -> f64 {
        0.0
    }

    /// Whether the last `ask` fitted a surrogate model (not an initial design
    /// point or a model-free rule).
    fn last_ask_used_model(&self) -> bool {
        false
    }
}

fn check_tell(dim: usize, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
    if xs.len() != ys.len() {
        return Err(Error::Other(format!(
            "tell: {} points but {} values",
            xs.len(),
            ys.len()
        )));
    }
    if let Some(x) = xs.iter().find(|x| x.len() != dim) {
        return Err(Error::Other(format!(
            "tell: a point has {} coordinates, expected {dim}",
            x.len()
        )));
    }
    if let Some(y) = ys.iter().find(|y| !y.is_finite()) {
        return Err(Error::Other(format!(
            "tell: value {y} is not finite (failed evaluations must be penalised by the caller)"
        )));
    }
    Ok(())
}

// Distinct random streams per optimiser, so that baselines run with the same
// seed do not share their first points.
const STREAM_RANDOM: u64 = 0x5241_4e44;
const STREAM_LHS: u64 = 0x4c48_5331;
const STREAM_PSO: u64 = 0x5053_4f31;
const STREAM_BO_INIT: u64 = 0x424f_494e;

/// Mix a seed with a counter (splitmix64), for independent per-step streams.
pub fn mix_seed(seed: u64, k: u64) -> u64 {
    let mut z = seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A Latin-hypercube design of `n` points in `[0, 1]^d`: each dimension is cut
/// into `n` equal strata, each stratum holds exactly one point, at a uniform
/// position inside it; strata are paired at random across dimensions (McKay,
/// Beckman & Conover 1979, Technometrics 21:239).
pub fn latin_hypercube(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pts = vec![vec![0.0; d]; n];
    for j in 0..d {
        let mut perm: Vec<usize> = (0..n).collect();
        // Fisher-Yates shuffle.
        for i in (1..n).rev() {
            let k = rng.random_range(0..=i);
            perm.swap(i, k);
        }
        for (i, p) in pts.iter_mut().enumerate() {
            p[j] = (perm[i] as f64 + rng.random::<f64>()) / n as f64;
        }
    }
    pts
}

/// Independent uniform points in the unit cube.
pub struct RandomSearch {
    dim: usize,
    rng: StdRng,
}

impl RandomSearch {
    /// A seeded random search over `[0, 1]^dim`.
    pub fn new(dim: usize, seed: u64) -> Self {
        RandomSearch {
            dim,
            rng: StdRng::seed_from_u64(mix_seed(seed, STREAM_RANDOM)),
        }
    }
}

impl Optimizer for RandomSearch {
    fn name(&self) -> &str {
        "random"
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>> {
        let q = q.max(1);
        Ok((0..q)
            .map(|_| (0..self.dim).map(|_| self.rng.random::<f64>()).collect())
            .collect())
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        check_tell(self.dim, xs, ys)
    }
}

/// Successive Latin-hypercube designs of `n` points each (the first one covers
/// the budget when `n` equals it).
pub struct LatinHypercube {
    dim: usize,
    n: usize,
    seed: u64,
    round: u64,
    queue: Vec<Vec<f64>>,
}

impl LatinHypercube {
    /// Designs of `n` points (normally the evaluation budget) over `[0, 1]^dim`.
    pub fn new(dim: usize, n: usize, seed: u64) -> Self {
        LatinHypercube {
            dim,
            n: n.max(1),
            seed,
            round: 0,
            queue: Vec::new(),
        }
    }
}

impl Optimizer for LatinHypercube {
    fn name(&self) -> &str {
        "lhs"
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>> {
        let q = q.max(1);
        let mut out = Vec::with_capacity(q);
        while out.len() < q {
            if self.queue.is_empty() {
                let mut d = latin_hypercube(
                    self.n,
                    self.dim,
                    mix_seed(mix_seed(self.seed, STREAM_LHS), self.round),
                );
                d.reverse();
                self.queue = d;
                self.round += 1;
            }
            if let Some(p) = self.queue.pop() {
                out.push(p);
            }
        }
        Ok(out)
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        check_tell(self.dim, xs, ys)
    }
}

// ------------------------------------------------------------------ Bayesian optimisation

/// How the q points of one BO iteration are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStrategy {
    /// Pseudo-observations at the kriging mean (Ginsbourger et al. 2010).
    KrigingBeliever,
    /// Pseudo-observations at the best value seen so far.
    ConstantLiar,
}

/// Settings of [`BayesOpt`].
#[derive(Debug, Clone)]
pub struct BoConfig {
    /// Size of the initial Latin-hypercube design (default `max(2d + 1, 5)`, at most 20).
    pub n_init: Option<usize>,
    /// q-point strategy.
    pub batch_strategy: BatchStrategy,
    /// Use log-EI (`true`, numerically stable, same maximiser) or plain EI.
    pub log_ei: bool,
    /// Partial-least-squares reduction of the GP length scales to this many
    /// components (useful above about 10 dimensions); `None` fits one length
    /// scale per dimension.
    pub kpls_dim: Option<usize>,
    /// Multistart count of the acquisition optimisation.
    pub n_start: usize,
    /// Maximise the acquisition only inside a box around the best point,
    /// resized by the outcome of each batch ([`TrustRegion`]); `None`
    /// searches the whole unit cube.
    pub trust_region: Option<TrustRegion>,
}

/// A trust region for [`BayesOpt`] in the manner of TuRBO-1 (Eriksson et al.
/// 2019, "Scalable global optimization via local Bayesian optimization",
/// NeurIPS 32): after the initial design, every batch is proposed inside the
/// box of side `length` (unit-cube coordinates, clipped to the cube) centred
/// on the best point told so far. The Gaussian process is still fitted to
/// every point. A batch that improves the best value (by more than
/// `1e-3 |best|`) is a success, any other a failure; `success_tolerance`
/// successes in a row double the side (up to `max_length`),
/// `failure_tolerance` failures in a row halve it (`None`: `ceil(max(4, d) / q)`
/// batches, TuRBO's rule), and a side below `min_length` restarts at
/// `initial_length` around the same best point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrustRegion {
    /// Side of the first box.
    pub initial_length: f64,
    /// Largest side.
    pub max_length: f64,
    /// Side below which the box restarts at `initial_length`.
    pub min_length: f64,
    /// Improving batches in a row that double the side.
    pub success_tolerance: usize,
    /// Non-improving batches in a row that halve the side.
    pub failure_tolerance: Option<usize>,
}

impl Default for TrustRegion {
    fn default() -> Self {
        TrustRegion {
            initial_length: 0.8,
            max_length: 1.6,
            min_length: 0.5f64.powi(7),
            success_tolerance: 3,
            failure_tolerance: None,
        }
    }
}

impl TrustRegion {
    fn validate(&self) -> Result<()> {
        let ok = self.min_length > 0.0
            && self.min_length < self.initial_length
            && self.initial_length <= self.max_length
            && self.max_length.is_finite()
            && self.success_tolerance >= 1
            && self.failure_tolerance.is_none_or(|f| f >= 1);
        if ok {
            Ok(())
        } else {
            Err(Error::Parameter {
                name: "trust region".into(),
                message: format!(
                    "need 0 < min_length < initial_length <= max_length and tolerances >= 1, got {self:?}"
                ),
            })
        }
    }
}

/// The evolving state of a [`TrustRegion`].
#[derive(Debug, Clone)]
struct RegionState {
    cfg: TrustRegion,
    length: f64,
    successes: usize,
    failures: usize,
    restarts: usize,
}

impl Default for BoConfig {
    fn default() -> Self {
        BoConfig {
            n_init: None,
            batch_strategy: BatchStrategy::KrigingBeliever,
            log_ei: true,
            kpls_dim: None,
            n_start: 20,
            trust_region: None,
        }
    }
}

/// Bayesian optimisation (EGO) with egobox-ego's ask/tell service.
///
/// The first `n_init` points come from a seeded Latin-hypercube design; then
/// each `ask(q)` refits the GP (constant mean, squared-exponential kernel with
/// one length scale per dimension fitted by maximum likelihood) on all told
/// points and maximises the expected improvement, q times with pseudo
/// observations. The service is rebuilt at every ask with a seed mixed from
/// the base seed and the number of told points, so proposals depend only on
/// the seed and the data. Points the service cannot supply (too close to
/// known ones, fit failure) are replaced by seeded uniform points.
pub struct BayesOpt {
    dim: usize,
    seed: u64,
    cfg: BoConfig,
    n_init: usize,
    init: Vec<Vec<f64>>,
    xs: Vec<Vec<f64>>,
    ys: Vec<f64>,
    asks: u64,
    last_seconds: f64,
    last_used_model: bool,
    fallback_points: usize,
    region: Option<RegionState>,
    last_q: usize,
}

impl BayesOpt {
    /// A seeded BO over `[0, 1]^dim`.
    pub fn new(dim: usize, seed: u64, cfg: BoConfig) -> Result<Self> {
        if dim == 0 {
            return Err(Error::Other(
                "Bayesian optimisation needs at least one dimension".into(),
            ));
        }
        if let Some(tr) = &cfg.trust_region {
            tr.validate()?;
        }
        let region = cfg.trust_region.map(|tr| RegionState {
            cfg: tr,
            length: tr.initial_length,
            successes: 0,
            failures: 0,
            restarts: 0,
        });
        let n_init = cfg.n_init.unwrap_or((2 * dim + 1).clamp(5, 20)).max(2);
        let mut init = latin_hypercube(n_init, dim, mix_seed(seed, STREAM_BO_INIT));
        init.reverse();
        Ok(BayesOpt {
            dim,
            seed,
            cfg,
            n_init,
            init,
            xs: Vec::new(),
            ys: Vec::new(),
            asks: 0,
            last_seconds: 0.0,
            last_used_model: false,
            fallback_points: 0,
            region,
            last_q: 1,
        })
    }

    /// Current side of the trust region and the number of its restarts
    /// (`None` without a trust region).
    pub fn trust_region_state(&self) -> Option<(f64, usize)> {
        self.region.as_ref().map(|r| (r.length, r.restarts))
    }

    /// Index of the best (lowest) value told so far.
    fn best_index(&self) -> Option<usize> {
        self.ys
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
    }

    /// The box the acquisition is maximised in: the unit cube, or the trust
    /// region around the best point.
    fn search_box(&self) -> Vec<(f64, f64)> {
        match (&self.region, self.best_index()) {
            (Some(r), Some(b)) => self.xs[b]
                .iter()
                .map(|&c| {
                    let lo = (c - 0.5 * r.length).max(0.0);
                    let hi = (c + 0.5 * r.length).min(1.0);
                    if hi - lo < 1e-9 {
                        (lo.min(1.0 - 1e-9), (lo + 1e-9).min(1.0))
                    } else {
                        (lo, hi)
                    }
                })
                .collect(),
            _ => vec![(0.0, 1.0); self.dim],
        }
    }

    /// Size of the initial Latin-hypercube design.
    pub fn n_init(&self) -> usize {
        self.n_init
    }

    /// Number of proposals so far that were uniform fall-backs instead of EI maximisers.
    pub fn fallback_points(&self) -> usize {
        self.fallback_points
    }

    /// Points told so far, in order.
    pub fn told_points(&self) -> &[Vec<f64>] {
        &self.xs
    }

    /// Replace the values of every point told so far (same order, one value
    /// per point), so that the next surrogate is fitted to a changed objective
    /// of the same points, e.g. a smoothing width annealed over the run. No
    /// point is evaluated again.
    pub fn retell(&mut self, ys: &[f64]) -> Result<()> {
        if ys.len() != self.ys.len() {
            return Err(Error::Other(format!(
                "retell: {} values for {} told points",
                ys.len(),
                self.ys.len()
            )));
        }
        check_tell(self.dim, &self.xs, ys)?;
        self.ys.copy_from_slice(ys);
        Ok(())
    }

    /// Drop the rest of the initial Latin-hypercube design: the next asks
    /// maximise the acquisition on the points already told (at least two
    /// distinct ones are needed, else they fall back to uniform points).
    pub fn skip_initial_design(&mut self) {
        self.init.clear();
    }

    fn suggest(&self, q: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
        use egobox_ego::{EgorServiceBuilder, InfillStrategy, QEiStrategy, RuntimeFlags};
        use ndarray::Array2;
        let n = self.xs.len();
        let d = self.dim;
        let flat: Vec<f64> = self.xs.iter().flatten().copied().collect();
        let x = Array2::from_shape_vec((n, d), flat).map_err(|e| Error::Other(e.to_string()))?;
        let y = Array2::from_shape_vec((n, 1), self.ys.clone())
            .map_err(|e| Error::Other(e.to_string()))?;
        let mut xlimits = Array2::zeros((d, 2));
        for (i, (lo, hi)) in self.search_box().into_iter().enumerate() {
            xlimits[[i, 0]] = lo;
            xlimits[[i, 1]] = hi;
        }
        let strategy = match self.cfg.batch_strategy {
            BatchStrategy::KrigingBeliever => QEiStrategy::KrigingBeliever,
            BatchStrategy::ConstantLiar => QEiStrategy::ConstantLiarMinimum,
        };
        let infill = if self.cfg.log_ei {
            InfillStrategy::LogEI
        } else {
            InfillStrategy::EI
        };
        let kpls = self.cfg.kpls_dim.filter(|&k| k < d);
        let n_start = self.cfg.n_start;
        let service = EgorServiceBuilder::optimize()
            .configure(|c| {
                c.configure_gp(|gp| gp.kpls_dim(kpls))
                    .configure_qei(|qc| qc.batch(q).strategy(strategy))
                    .infill_strategy(infill)
                    .n_start(n_start)
                    .runtime_flags(RuntimeFlags::none())
                    .seed(seed)
            })
            .min_within(&xlimits)
            .map_err(|e| Error::Other(format!("egobox configuration: {e}")))?;
        // egobox's `suggest` has no error channel; a failure inside it must not
        // take the calibration down.
        let res =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| service.suggest(&x, &y)))
                .map_err(|_| Error::Other("egobox suggest failed".into()))?;
        Ok(res
            .rows()
            .into_iter()
            .map(|r| r.iter().map(|v| v.clamp(0.0, 1.0)).collect::<Vec<f64>>())
            .filter(|p: &Vec<f64>| p.iter().all(|v| v.is_finite()))
            .collect())
    }
}

impl Optimizer for BayesOpt {
    fn name(&self) -> &str {
        "bo"
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>> {
        let t0 = Instant::now();
        let q = q.max(1);
        self.last_q = q;
        self.asks += 1;
        let mut out = Vec::with_capacity(q);
        // Initial design first.
        while out.len() < q {
            match self.init.pop() {
                Some(p) => out.push(p),
                None => break,
            }
        }
        self.last_used_model = out.is_empty();
        if out.is_empty() {
            let seed = mix_seed(self.seed, self.xs.len() as u64);
            let n_distinct = {
                let mut v = self.xs.clone();
                v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                v.dedup();
                v.len()
            };
            if n_distinct >= 2 {
                if let Ok(pts) = self.suggest(q, seed) {
                    out.extend(pts.into_iter().take(q));
                }
            }
            if out.len() < q {
                let mut rng = StdRng::seed_from_u64(mix_seed(seed, 1));
                let bx = self.search_box();
                while out.len() < q {
                    out.push(
                        bx.iter()
                            .map(|&(lo, hi)| lo + (hi - lo) * rng.random::<f64>())
                            .collect(),
                    );
                    self.fallback_points += 1;
                }
            }
        }
        self.last_seconds = t0.elapsed().as_secs_f64();
        Ok(out)
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        check_tell(self.dim, xs, ys)?;
        let before = self.best_index().map(|b| self.ys[b]);
        self.xs.extend(xs.iter().cloned());
        self.ys.extend_from_slice(ys);
        // Resize the trust region after a batch proposed by the model.
        if let (Some(r), true, Some(best)) = (&mut self.region, self.last_used_model, before) {
            let batch_best = ys.iter().copied().fold(f64::INFINITY, f64::min);
            if batch_best < best - 1e-3 * best.abs() {
                r.successes += 1;
                r.failures = 0;
            } else {
                r.failures += 1;
                r.successes = 0;
            }
            let fail_tol = r
                .cfg
                .failure_tolerance
                .unwrap_or_else(|| self.dim.max(4).div_ceil(self.last_q.max(1)));
            if r.successes >= r.cfg.success_tolerance {
                r.length = (2.0 * r.length).min(r.cfg.max_length);
                r.successes = 0;
            } else if r.failures >= fail_tol {
                r.length *= 0.5;
                r.failures = 0;
                if r.length < r.cfg.min_length {
                    r.length = r.cfg.initial_length;
                    r.restarts += 1;
                }
            }
        }
        Ok(())
    }
    fn last_ask_seconds(&self) -> f64 {
        self.last_seconds
    }
    fn last_ask_used_model(&self) -> bool {
        self.last_used_model
    }
}

// ------------------------------------------------------------------ particle swarm

enum PsoMsg {
    /// The swarm wants these positions evaluated.
    Batch(Vec<Vec<f64>>),
    /// The executor stopped (error text).
    Finished(String),
}

struct BridgeProblem {
    to_opt: mpsc::Sender<PsoMsg>,
    from_opt: Mutex<mpsc::Receiver<Vec<f64>>>,
}

impl argmin::core::CostFunction for BridgeProblem {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let mut v = self.bulk_cost(std::slice::from_ref(p))?;
        v.pop()
            .ok_or_else(|| argmin::core::Error::msg("no value returned for a particle"))
    }

    fn bulk_cost<P>(&self, params: &[P]) -> std::result::Result<Vec<f64>, argmin::core::Error>
    where
        P: std::borrow::Borrow<Vec<f64>> + argmin::core::SyncAlias,
        f64: argmin::core::SendAlias,
        Self: argmin::core::SyncAlias,
    {
        let batch: Vec<Vec<f64>> = params.iter().map(|p| p.borrow().clone()).collect();
        self.to_opt
            .send(PsoMsg::Batch(batch))
            .map_err(|_| argmin::core::Error::msg("swarm stopped"))?;
        let rx = self
            .from_opt
            .lock()
            .map_err(|_| argmin::core::Error::msg("swarm channel poisoned"))?;
        rx.recv()
            .map_err(|_| argmin::core::Error::msg("swarm stopped"))
    }
}

/// argmin 0.11's particle swarm (inertia 1/(2 ln 2), cognitive and social
/// factors 0.5 + ln 2) bridged to ask/tell.
///
/// argmin's executor drives its own loop and calls the cost function with the
/// whole swarm at once (`bulk_cost`). It runs in a worker thread; each
/// `bulk_cost` call sends the swarm's positions here and blocks until all their
/// values have been told. `ask(q)` hands out up to `q` not yet proposed
/// positions of the current generation (a generation may span several asks,
/// and an ask never spans two generations).
pub struct ParticleSwarm {
    dim: usize,
    from_swarm: mpsc::Receiver<PsoMsg>,
    to_swarm: Option<mpsc::Sender<Vec<f64>>>,
    worker: Option<std::thread::JoinHandle<()>>,
    generation: Vec<Vec<f64>>,
    values: Vec<Option<f64>>,
    next: usize,
    outstanding: Vec<usize>,
}

impl ParticleSwarm {
    /// A seeded swarm of `n_particles` over `[0, 1]^dim`.
    pub fn new(dim: usize, n_particles: usize, seed: u64) -> Result<Self> {
        use argmin::core::{Executor, State};
        let (to_opt, from_swarm) = mpsc::channel();
        let (to_swarm, from_opt) = mpsc::channel();
        let problem = BridgeProblem {
            to_opt: to_opt.clone(),
            from_opt: Mutex::new(from_opt),
        };
        let n_particles = n_particles.max(2);
        let worker = std::thread::Builder::new()
            .name("calimap-pso".into())
            .spawn(move || {
                let solver = argmin::solver::particleswarm::ParticleSwarm::new(
                    (vec![0.0; dim], vec![1.0; dim]),
                    n_particles,
                )
                .with_rng_generator(StdRng::seed_from_u64(mix_seed(seed, STREAM_PSO)));
                let res = Executor::new(problem, solver)
                    .configure(|s| s.max_iters(u64::MAX))
                    .run();
                let msg = match res {
                    Ok(r) => format!("swarm finished after {} iterations", r.state().get_iter()),
                    Err(e) => e.to_string(),
                };
                let _ = to_opt.send(PsoMsg::Finished(msg));
            })
            .map_err(|e| Error::Other(format!("cannot start the particle-swarm worker: {e}")))?;
        Ok(ParticleSwarm {
            dim,
            from_swarm,
            to_swarm: Some(to_swarm),
            worker: Some(worker),
            generation: Vec::new(),
            values: Vec::new(),
            next: 0,
            outstanding: Vec::new(),
        })
    }
}

impl Optimizer for ParticleSwarm {
    fn name(&self) -> &str {
        "pso"
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>> {
        if !self.outstanding.is_empty() {
            return Err(Error::Other(
                "pso: ask before the previous points were told".into(),
            ));
        }
        if self.next >= self.generation.len() {
            match self.from_swarm.recv() {
                Ok(PsoMsg::Batch(b)) => {
                    self.values = vec![None; b.len()];
                    self.generation = b;
                    self.next = 0;
                }
                Ok(PsoMsg::Finished(msg)) => return Err(Error::Other(format!("pso: {msg}"))),
                Err(_) => return Err(Error::Other("pso: the swarm worker stopped".into())),
            }
        }
        let end = (self.next + q.max(1)).min(self.generation.len());
        self.outstanding = (self.next..end).collect();
        self.next = end;
        Ok(self.generation[self.outstanding[0]..end]
            .iter()
            .map(|p| p.iter().map(|v| v.clamp(0.0, 1.0)).collect())
            .collect())
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        check_tell(self.dim, xs, ys)?;
        if xs.len() != self.outstanding.len() {
            return Err(Error::Other(format!(
                "pso: told {} values for {} proposed points",
                xs.len(),
                self.outstanding.len()
            )));
        }
        for (k, &i) in self.outstanding.iter().enumerate() {
            self.values[i] = Some(ys[k]);
        }
        self.outstanding.clear();
        if self.next >= self.generation.len() && self.values.iter().all(|v| v.is_some()) {
            let vals: Vec<f64> = self.values.iter().map(|v| v.unwrap_or(f64::MAX)).collect();
            if let Some(tx) = &self.to_swarm {
                tx.send(vals)
                    .map_err(|_| Error::Other("pso: the swarm worker stopped".into()))?;
            }
        }
        Ok(())
    }
}

impl Drop for ParticleSwarm {
    fn drop(&mut self) {
        // Closing the channel makes the worker's pending `bulk_cost` fail, which
        // ends the executor.
        self.to_swarm = None;
        if let Some(w) = self.worker.take() {
            // Drain so a worker blocked on send cannot dead-lock.
            while self.from_swarm.try_recv().is_ok() {}
            let _ = w.join();
        }
    }
}

/// Which optimiser to build, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// [`BayesOpt`]
    Bo,
    /// [`RandomSearch`]
    Random,
    /// [`LatinHypercube`]
    Lhs,
    /// [`ParticleSwarm`]
    Pso,
}

impl OptimizerKind {
    /// Parse `bo`, `random`, `lhs` or `pso`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "bo" => Ok(OptimizerKind::Bo),
            "random" => Ok(OptimizerKind::Random),
            "lhs" => Ok(OptimizerKind::Lhs),
            "pso" => Ok(OptimizerKind::Pso),
            other => Err(Error::Other(format!(
                "unknown optimiser `{other}` (expected bo, random, lhs or pso)"
            ))),
        }
    }

    /// The name accepted by [`OptimizerKind::parse`].
    pub fn as_str(&self) -> &'static str {
        match self {
            OptimizerKind::Bo => "bo",
            OptimizerKind::Random => "random",
            OptimizerKind::Lhs => "lhs",
            OptimizerKind::Pso => "pso",
        }
    }

    /// Build the optimiser for `dim` dimensions, a budget and a seed (PSO swarm
    /// size `max(10, 2 + 3 sqrt(d))` rounded, the usual SPSO rule of thumb).
    pub fn build(&self, dim: usize, budget: usize, seed: u64) -> Result<Box<dyn Optimizer>> {
        Ok(match self {
            OptimizerKind::Bo => Box::new(BayesOpt::new(dim, seed, BoConfig::default())?),
            OptimizerKind::Random => Box::new(RandomSearch::new(dim, seed)),
            OptimizerKind::Lhs => Box::new(LatinHypercube::new(dim, budget, seed)),
            OptimizerKind::Pso => {
                let n = (10.0f64).max((2.0 + 3.0 * (dim as f64).sqrt()).round()) as usize;
                Box::new(ParticleSwarm::new(dim, n, seed)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lhs_has_one_point_per_stratum() {
        let n = 17;
        let pts = latin_hypercube(n, 3, 5);
        for j in 0..3 {
            let mut strata: Vec<usize> = pts.iter().map(|p| (p[j] * n as f64) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..n).collect::<Vec<_>>());
        }
        assert_eq!(pts, latin_hypercube(n, 3, 5));
        assert_ne!(pts, latin_hypercube(n, 3, 6));
    }

    #[test]
    fn bo_retell_replaces_values_and_skip_starts_the_model_at_once() {
        let mut bo = BayesOpt::new(
            2,
            7,
            BoConfig {
                n_init: Some(6),
                ..BoConfig::default()
            },
        )
        .unwrap();
        let xs = vec![vec![0.1, 0.2], vec![0.8, 0.6], vec![0.4, 0.9]];
        let ys: Vec<f64> = xs.iter().map(|x| sphere(x)).collect();
        bo.tell(&xs, &ys).unwrap();
        assert!(bo.retell(&ys[..2]).is_err());
        assert!(bo.retell(&[0.0, f64::NAN, 1.0]).is_err());
        // Negated values: the told points keep their order, the values change.
        let neg: Vec<f64> = ys.iter().map(|v| -v).collect();
        bo.retell(&neg).unwrap();
        assert_eq!(bo.told_points(), &xs[..]);
        assert_eq!(bo.ys, neg);
        // Without the rest of the initial design the next ask fits the model.
        bo.skip_initial_design();
        let p = bo.ask(1).unwrap();
        assert_eq!(p.len(), 1);
        assert!(bo.last_ask_used_model());
        assert!(p[0].iter().all(|v| (0.0..=1.0).contains(v)));
    }

    fn sphere(x: &[f64]) -> f64 {
        x.iter().map(|v| (v - 0.3) * (v - 0.3)).sum()
    }

    fn drive(opt: &mut dyn Optimizer, n: usize, q: usize) -> (Vec<Vec<f64>>, f64) {
        let mut all = Vec::new();
        let mut best = f64::INFINITY;
        while all.len() < n {
            let xs = opt.ask(q).unwrap();
            assert!(!xs.is_empty() && xs.len() <= q);
            let ys: Vec<f64> = xs.iter().map(|x| sphere(x)).collect();
            for y in &ys {
                best = best.min(*y);
            }
            opt.tell(&xs, &ys).unwrap();
            all.extend(xs);
        }
        (all, best)
    }

    #[test]
    fn pso_bridge_is_seeded_and_improves() {
        let mut a = ParticleSwarm::new(2, 10, 3).unwrap();
        let mut b = ParticleSwarm::new(2, 10, 3).unwrap();
        let (pa, best_a) = drive(&mut a, 200, 4);
        let (pb, _) = drive(&mut b, 200, 4);
        assert_eq!(pa, pb, "same seed, same proposals");
        assert!(best_a < 1e-3, "best {best_a}");
    }

    #[test]
    fn bo_is_seeded_and_finds_sphere_minimum() {
        let mut a = BayesOpt::new(2, 11, BoConfig::default()).unwrap();
        let mut b = BayesOpt::new(2, 11, BoConfig::default()).unwrap();
        let (pa, best) = drive(&mut a, 20, 2);
        let (pb, _) = drive(&mut b, 20, 2);
        assert_eq!(pa, pb);
        assert!(best < 1e-3, "best {best}");
        // Every point after the initial design came from the q-EI maximisation.
        assert_eq!(a.fallback_points(), 0);
        let mut c = BayesOpt::new(
            2,
            11,
            BoConfig {
                batch_strategy: BatchStrategy::ConstantLiar,
                ..Default::default()
            },
        )
        .unwrap();
        let (_, best_c) = drive(&mut c, 20, 4);
        assert_eq!(c.fallback_points(), 0);
        assert!(best_c < 1e-2, "constant liar best {best_c}");
    }

    #[test]
    fn trust_region_proposes_inside_its_box_and_shrinks_on_failure() {
        // A flat function: no batch after the initial design improves, so the
        // side halves every ceil(max(4, d) / q) = 2 batches (d = 3, q = 2).
        let d = 3;
        let tr = TrustRegion {
            initial_length: 0.4,
            ..Default::default()
        };
        let cfg = BoConfig {
            n_init: Some(5),
            trust_region: Some(tr),
            ..Default::default()
        };
        let mut bo = BayesOpt::new(d, 4, cfg).unwrap();
        // The initial design holds one point with a lower value: the centre.
        let mut centre = None;
        let mut told = 0;
        let mut lengths = Vec::new();
        while told < 5 + 8 {
            let xs = bo.ask(2).unwrap();
            let ys: Vec<f64> = xs
                .iter()
                .enumerate()
                .map(|(k, _)| if told + k == 2 { 0.0 } else { 1.0 })
                .collect();
            if told >= 5 {
                let (len, _) = bo.trust_region_state().unwrap();
                let c: &Vec<f64> = centre.as_ref().unwrap();
                for x in &xs {
                    for (v, cv) in x.iter().zip(c) {
                        assert!(
                            (v - cv).abs() <= 0.5 * len + 1e-12,
                            "{x:?} outside {len} around {c:?}"
                        );
                    }
                }
                lengths.push(len);
            }
            if told <= 2 && told + xs.len() > 2 {
                centre = Some(xs[2 - told].clone());
            }
            told += xs.len();
            bo.tell(&xs, &ys).unwrap();
        }
        assert_eq!(lengths, vec![0.4, 0.4, 0.2, 0.2]);
        assert_eq!(bo.trust_region_state(), Some((0.1, 0)));
        // Bad settings are refused.
        let bad = BoConfig {
            trust_region: Some(TrustRegion {
                min_length: 0.9,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(BayesOpt::new(2, 1, bad).is_err());
    }

    #[test]
    fn trust_region_bo_finds_sphere_minimum() {
        let cfg = BoConfig {
            trust_region: Some(TrustRegion::default()),
            ..Default::default()
        };
        let mut a = BayesOpt::new(4, 3, cfg.clone()).unwrap();
        let mut b = BayesOpt::new(4, 3, cfg).unwrap();
        let (pa, best) = drive(&mut a, 40, 2);
        let (pb, _) = drive(&mut b, 40, 2);
        assert_eq!(pa, pb);
        assert!(best < 1e-2, "best {best}");
    }

    #[test]
    fn tell_rejects_non_finite_values() {
        let mut r = RandomSearch::new(2, 1);
        let xs = r.ask(1).unwrap();
        assert!(r.tell(&xs, &[f64::NAN]).is_err());
    }
}
