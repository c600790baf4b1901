//! Local refinement inside a fixed evaluation budget.
//!
//! - [`CompassSearch`]: a coordinate (compass) pattern search in the unit cube
//!   (Kolda, Lewis & Torczon 2003, SIAM Review 45:385): poll `x +- step e_j`
//!   one coordinate at a time, move to the first point that improves the value,
//!   halve the step after a full poll without improvement. After a move, the
//!   successful direction is polled first again, so a run of improvements along
//!   one coordinate costs one evaluation each.
//! - [`RefinedBayesOpt`]: [`BayesOpt`] for the first part of the budget, then a
//!   compass search started from the best point told so far, for the rest. The
//!   global phase finds the basin, the local phase resolves the optimum to a
//!   finer scale than the Gaussian-process surrogate does with few points.
//!
//! Both minimise the values they are told, like every [`Optimizer`].

use super::optimizer::{BayesOpt, BoConfig, Optimizer};
use crate::{Error, Result};

/// One poll direction: coordinate and sign.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Direction {
    coord: usize,
    sign: f64,
}

/// Settings of the local phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompassConfig {
    /// First step length (unit-cube coordinates).
    pub initial_step: f64,
    /// When the step falls below this length it is reset to `initial_step`
    /// (a restart around the same centre).
    pub min_step: f64,
}

impl Default for CompassConfig {
    fn default() -> Self {
        CompassConfig {
            initial_step: 0.02,
            min_step: 1e-4,
        }
    }
}

impl CompassConfig {
    fn validate(&self) -> Result<()> {
        if !(self.initial_step.is_finite()
            && self.initial_step > 0.0
            && self.initial_step <= 1.0
            && self.min_step > 0.0
            && self.min_step < self.initial_step)
        {
            return Err(Error::Parameter {
                name: "compass step".into(),
                message: format!(
                    "need 0 < min_step < initial_step <= 1, got {} and {}",
                    self.min_step, self.initial_step
                ),
            });
        }
        Ok(())
    }
}

/// Coordinate pattern search from a known point (see the module documentation).
pub struct CompassSearch {
    dim: usize,
    cfg: CompassConfig,
    center: Vec<f64>,
    f_center: f64,
    step: f64,
    /// Directions of the current poll not yet proposed, in order.
    poll: Vec<Direction>,
    /// Directions proposed by the last `ask`.
    outstanding: Vec<Direction>,
    /// Direction of the last successful move, polled first.
    last_success: Option<Direction>,
    moves: usize,
}

impl CompassSearch {
    /// A search around `center` (unit cube) whose value is `f_center`.
    pub fn new(center: Vec<f64>, f_center: f64, cfg: CompassConfig) -> Result<Self> {
        cfg.validate()?;
        if center.is_empty() || center.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::Parameter {
                name: "compass centre".into(),
                message: format!("need a non-empty point of [0, 1]^d, got {center:?}"),
            });
        }
        if !f_center.is_finite() {
            return Err(Error::Parameter {
                name: "compass centre value".into(),
                message: format!("must be finite, got {f_center}"),
            });
        }
        Ok(CompassSearch {
            dim: center.len(),
            cfg,
            center,
            f_center,
            step: cfg.initial_step,
            poll: Vec::new(),
            outstanding: Vec::new(),
            last_success: None,
            moves: 0,
        })
    }

    /// Current centre and its value.
    pub fn center(&self) -> (&[f64], f64) {
        (&self.center, self.f_center)
    }

    /// Current step length.
    pub fn step(&self) -> f64 {
        self.step
    }

    /// Number of accepted moves.
    pub fn moves(&self) -> usize {
        self.moves
    }

    fn point(&self, d: Direction) -> Vec<f64> {
        let mut p = self.center.clone();
        p[d.coord] = (p[d.coord] + d.sign * self.step).clamp(0.0, 1.0);
        p
    }

    /// The poll of the current step: the last successful direction first, then
    /// every coordinate from the next one on, `+` before `-`. Directions that
    /// the box clamps back onto the centre are left out.
    fn build_poll(&mut self) {
        let start = self.last_success.map(|d| d.coord).unwrap_or(0);
        let mut dirs = Vec::with_capacity(2 * self.dim);
        if let Some(d) = self.last_success {
            dirs.push(d);
        }
        for k in 0..self.dim {
            let coord = (start + k) % self.dim;
            for sign in [1.0, -1.0] {
                let d = Direction { coord, sign };
                if Some(d) != self.last_success {
                    dirs.push(d);
                }
            }
        }
        dirs.retain(|&d| self.point(d)[d.coord] != self.center[d.coord]);
        // Proposals are popped from the back.
        dirs.reverse();
        self.poll = dirs;
    }

    fn shrink(&mut self) {
        self.step *= 0.5;
        if self.step < self.cfg.min_step {
            self.step = self.cfg.initial_step;
        }
        self.last_success = None;
    }
}

impl Optimizer for CompassSearch {
    fn name(&self) -> &str {
        "compass"
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>> {
        if !self.outstanding.is_empty() {
            return Err(Error::Other(
                "compass: ask before the previous points were told".into(),
            ));
        }
        // A poll can be empty only when every direction is clamped, which a
        // smaller step resolves within a few halvings (the centre is inside the box).
        for _ in 0..64 {
            if !self.poll.is_empty() {
                break;
            }
            self.build_poll();
            if self.poll.is_empty() {
                self.shrink();
            }
        }
        let n = q.max(1).min(self.poll.len());
        if n == 0 {
            return Err(Error::Other("compass: no point to poll".into()));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(d) = self.poll.pop() {
                out.push(self.point(d));
                self.outstanding.push(d);
            }
        }
        Ok(out)
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        if xs.len() != self.outstanding.len() || ys.len() != xs.len() {
            return Err(Error::Other(format!(
                "compass: told {} points and {} values for {} proposed",
                xs.len(),
                ys.len(),
                self.outstanding.len()
            )));
        }
        if let Some(y) = ys.iter().find(|y| !y.is_finite()) {
            return Err(Error::Other(format!("compass: value {y} is not finite")));
        }
        let best = ys
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, &y)| (k, y));
        let dirs = std::mem::take(&mut self.outstanding);
        match best {
            Some((k, y)) if y < self.f_center => {
                self.center = xs[k].clone();
                self.f_center = y;
                self.last_success = Some(dirs[k]);
                self.moves += 1;
                self.poll.clear();
            }
            _ => {
                if self.poll.is_empty() {
                    self.shrink();
                }
            }
        }
        Ok(())
    }
}

/// [`BayesOpt`] for the first `global_evaluations` points, then a
/// [`CompassSearch`] from the best point told so far (see the module documentation).
pub struct RefinedBayesOpt {
    bo: BayesOpt,
    global_evaluations: usize,
    compass_cfg: CompassConfig,
    told: usize,
    best: Option<(Vec<f64>, f64)>,
    local: Option<CompassSearch>,
}

impl RefinedBayesOpt {
    /// A seeded BO over `[0, 1]^dim` that switches to the local search after
    /// `global_evaluations` told points.
    pub fn new(
        dim: usize,
        seed: u64,
        bo: BoConfig,
        global_evaluations: usize,
        compass: CompassConfig,
    ) -> Result<Self> {
        compass.validate()?;
        let bo = BayesOpt::new(dim, seed, bo)?;
        if global_evaluations < bo.n_init() {
            return Err(Error::Parameter {
                name: "global evaluations".into(),
                message: format!(
                    "{global_evaluations} is fewer than the initial design ({} points)",
                    bo.n_init()
                ),
            });
        }
        Ok(RefinedBayesOpt {
            bo,
            global_evaluations,
            compass_cfg: compass,
            told: 0,
            best: None,
            local: None,
        })
    }

    /// Whether the local phase has started.
    pub fn in_local_phase(&self) -> bool {
        self.local.is_some()
    }

    /// Accepted moves of the local phase.
    pub fn local_moves(&self) -> usize {
        self.local.as_ref().map(|l| l.moves()).unwrap_or(0)
    }
}

impl Optimizer for RefinedBayesOpt {
    fn name(&self) -> &str {
        "bo+compass"
    }
    fn dim(&self) -> usize {
        self.bo.dim()
    }
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>> {
        if self.told < self.global_evaluations {
            return self
                .bo
                .ask(q.max(1).min(self.global_evaluations - self.told));
        }
        if self.local.is_none() {
            let (x, y) = self
                .best
                .clone()
                .ok_or_else(|| Error::Other("bo+compass: no point told yet".into()))?;
            self.local = Some(CompassSearch::new(x, y, self.compass_cfg)?);
        }
        match self.local.as_mut() {
            Some(l) => l.ask(q),
            None => Err(Error::Other("bo+compass: local phase missing".into())),
        }
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        match self.local.as_mut() {
            Some(l) => l.tell(xs, ys)?,
            None => self.bo.tell(xs, ys)?,
        }
        for (x, &y) in xs.iter().zip(ys) {
            if self.best.as_ref().is_none_or(|b| y < b.1) {
                self.best = Some((x.clone(), y));
            }
        }
        self.told += xs.len();
        Ok(())
    }
    fn last_ask_seconds(&self) -> f64 {
        if self.local.is_some() {
            0.0
        } else {
            self.bo.last_ask_seconds()
        }
    }
    fn last_ask_used_model(&self) -> bool {
        self.local.is_none() && self.bo.last_ask_used_model()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive(opt: &mut dyn Optimizer, f: impl Fn(&[f64]) -> f64, n: usize) -> f64 {
        let mut best = f64::INFINITY;
        let mut count = 0;
        while count < n {
            let xs = opt.ask(1).unwrap();
            let ys: Vec<f64> = xs.iter().map(|x| f(x)).collect();
            best = ys.iter().fold(best, |a, &b| a.min(b));
            count += xs.len();
            opt.tell(&xs, &ys).unwrap();
        }
        best
    }

    #[test]
    fn compass_converges_on_a_separable_quadratic() {
        // Minimum 0 at (0.3, 0.71, 0.5); start at the centre of the box.
        let f =
            |x: &[f64]| (x[0] - 0.3).powi(2) + 4.0 * (x[1] - 0.71).powi(2) + (x[2] - 0.5).powi(2);
        let x0 = vec![0.5; 3];
        let cfg = CompassConfig {
            initial_step: 0.1,
            min_step: 1e-6,
        };
        let mut c = CompassSearch::new(x0.clone(), f(&x0), cfg).unwrap();
        let best = drive(&mut c, f, 120);
        assert!(best < 1e-6, "best {best}");
        let (x, fx) = c.center();
        assert_eq!(fx, best);
        assert!(
            (x[0] - 0.3).abs() < 1e-3 && (x[1] - 0.71).abs() < 1e-3,
            "{x:?}"
        );
    }

    #[test]
    fn compass_stays_in_the_box_and_rejects_bad_input() {
        // Minimum outside the box at x = 1.2: the search ends on the face x = 1.
        let f = |x: &[f64]| (x[0] - 1.2).powi(2) + (x[1] - 0.5).powi(2);
        let x0 = vec![0.9, 0.5];
        let mut c = CompassSearch::new(x0.clone(), f(&x0), CompassConfig::default()).unwrap();
        for _ in 0..40 {
            let xs = c.ask(2).unwrap();
            assert!(xs.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
            let ys: Vec<f64> = xs.iter().map(|x| f(x)).collect();
            c.tell(&xs, &ys).unwrap();
        }
        assert_eq!(c.center().0[0], 1.0);
        assert!(CompassSearch::new(vec![1.5], 0.0, CompassConfig::default()).is_err());
        assert!(CompassSearch::new(vec![0.5], f64::NAN, CompassConfig::default()).is_err());
        let bad = CompassConfig {
            initial_step: 0.01,
            min_step: 0.1,
        };
        assert!(CompassSearch::new(vec![0.5], 0.0, bad).is_err());
        // Telling values for points that were not proposed is an error.
        let mut c = CompassSearch::new(vec![0.5], 0.0, CompassConfig::default()).unwrap();
        assert!(c.tell(&[vec![0.1]], &[1.0]).is_err());
    }

    #[test]
    fn refined_bo_switches_to_the_local_phase_and_improves_on_it() {
        // Narrow optimum: the local phase resolves it below what BO reached.
        let f = |x: &[f64]| ((x[0] - 0.6123).abs() + (x[1] - 0.2877).abs()).sqrt();
        let mut plain = BayesOpt::new(2, 5, BoConfig::default()).unwrap();
        let best_plain = drive(&mut plain, f, 30);
        let mut r =
            RefinedBayesOpt::new(2, 5, BoConfig::default(), 20, CompassConfig::default()).unwrap();
        let best_refined = drive(&mut r, f, 30);
        assert!(r.in_local_phase());
        assert!(
            best_refined <= best_plain,
            "refined {best_refined} plain {best_plain}"
        );
        assert!(
            RefinedBayesOpt::new(2, 5, BoConfig::default(), 2, CompassConfig::default()).is_err()
        );
    }
}
