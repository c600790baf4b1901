//! Local refinement inside a fixed evaluation budget.
//!
//! - [`CompassSearch`]: a coordinate (compass) pattern search in the unit cube
//!   (Kolda, Lewis & Torczon 2003, SIAM Review 45:385): poll `x +- step e_j`
//!   one coordinate at a time, move to the first point that improves the value,
//!   halve the step after a full poll without improvement. After a move, the
//!   successful direction is polled first again, so a run of improvements along
//!   one coordinate costs one evaluation each.
//!
//! The survey calibration ([`crate::empirical::survey::calibrate`]) ends its
//! Bayesian optimisation with a compass search from the best point, inside the
//! same evaluation budget: the global phase finds the basin, the local phase
//! resolves the optimum to a finer scale than the Gaussian-process surrogate
//! does with few points. Like every [`Optimizer`], it minimises the values it
//! is told.

use super::optimizer::Optimizer;
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
    /// Factor (>= 1) applied to the step after a successful move, capped at
    /// 0.5; 1 keeps the step.
    pub expand: f64,
}

impl Default for CompassConfig {
    fn default() -> Self {
        CompassConfig {
            initial_step: 0.02,
            min_step: 1e-4,
            expand: 2.0,
        }
    }
}

impl CompassConfig {
    fn validate(&self) -> Result<()> {
        if !(self.initial_step.is_finite()
            && self.initial_step > 0.0
            && self.initial_step <= 1.0
            && self.min_step > 0.0
            && self.min_step < self.initial_step
            && self.expand.is_finite()
            && self.expand >= 1.0)
        {
            return Err(Error::Parameter {
                name: "compass step".into(),
                message: format!(
                    "need 0 < min_step < initial_step <= 1 and expand >= 1, got {}, {} and {}",
                    self.min_step, self.initial_step, self.expand
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
    /// Coordinates in poll order.
    order: Vec<usize>,
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
        let dim = center.len();
        Ok(CompassSearch {
            dim,
            cfg,
            center,
            f_center,
            step: cfg.initial_step,
            poll: Vec::new(),
            outstanding: Vec::new(),
            last_success: None,
            moves: 0,
            order: (0..dim).collect(),
        })
    }

    /// Poll the coordinates in `order` (a permutation of `0..d`, most
    /// influential first) instead of `0, 1, ..., d - 1`.
    pub fn with_order(mut self, order: Vec<usize>) -> Result<Self> {
        let mut sorted = order.clone();
        sorted.sort_unstable();
        if sorted != (0..self.dim).collect::<Vec<_>>() {
            return Err(Error::Parameter {
                name: "compass order".into(),
                message: format!("{order:?} is not a permutation of 0..{}", self.dim),
            });
        }
        self.order = order;
        Ok(self)
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
    /// every coordinate in poll order, `+` before `-`. Directions that the box
    /// clamps back onto the centre are left out.
    fn build_poll(&mut self) {
        let mut dirs = Vec::with_capacity(2 * self.dim);
        if let Some(d) = self.last_success {
            dirs.push(d);
        }
        for &coord in &self.order {
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
                self.step = (self.step * self.cfg.expand).min(0.5);
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

/// A global optimiser whose last evaluations go to a [`CompassSearch`] from
/// the best point it found: the global phase is told every value until
/// `switch_after` evaluations have been told, then the local phase starts at
/// the best (lowest) value seen so far. Failed evaluations (non-finite
/// values) count as the worst possible value in the local phase.
pub struct ThenCompass {
    global: Box<dyn Optimizer>,
    switch_after: usize,
    cfg: CompassConfig,
    told: usize,
    best: Option<(Vec<f64>, f64)>,
    local: Option<CompassSearch>,
    asked_local: bool,
}

impl ThenCompass {
    /// `global` for the first `switch_after` evaluations, then a compass search with `cfg`.
    pub fn new(
        global: Box<dyn Optimizer>,
        switch_after: usize,
        cfg: CompassConfig,
    ) -> Result<Self> {
        cfg.validate()?;
        Ok(ThenCompass {
            global,
            switch_after,
            cfg,
            told: 0,
            best: None,
            local: None,
            asked_local: false,
        })
    }

    /// Whether the local phase has started.
    pub fn in_local_phase(&self) -> bool {
        self.local.is_some()
    }
}

impl Optimizer for ThenCompass {
    fn name(&self) -> &str {
        self.global.name()
    }
    fn dim(&self) -> usize {
        self.global.dim()
    }
    fn ask(&mut self, q: usize) -> Result<Vec<Vec<f64>>> {
        if self.local.is_none() && self.told >= self.switch_after {
            if let Some((x, f)) = &self.best {
                self.local = Some(CompassSearch::new(x.clone(), *f, self.cfg)?);
            }
        }
        match &mut self.local {
            Some(l) => {
                self.asked_local = true;
                l.ask(q)
            }
            None => {
                self.asked_local = false;
                self.global.ask(q)
            }
        }
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        for (x, &y) in xs.iter().zip(ys) {
            if y.is_finite() && self.best.as_ref().is_none_or(|(_, b)| y < *b) {
                self.best = Some((x.clone(), y));
            }
        }
        self.told += xs.len();
        match (&mut self.local, self.asked_local) {
            (Some(l), true) => {
                let ys: Vec<f64> = ys
                    .iter()
                    .map(|&y| if y.is_finite() { y } else { f64::MAX })
                    .collect();
                l.tell(xs, &ys)
            }
            _ => self.global.tell(xs, ys),
        }
    }
    fn last_ask_seconds(&self) -> f64 {
        if self.asked_local {
            0.0
        } else {
            self.global.last_ask_seconds()
        }
    }
    fn last_ask_used_model(&self) -> bool {
        !self.asked_local && self.global.last_ask_used_model()
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
            expand: 1.0,
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
    fn line_search_converges_on_a_separable_quadratic_in_few_evaluations() {
        // Minimum 0 at (0.3, 0.71, 0.5); start at the centre of the box. A
        // parabolic line search hits a quadratic's minimum along each
        // coordinate with its vertex step: one cycle of lines suffices.
        let f =
            |x: &[f64]| (x[0] - 0.3).powi(2) + 4.0 * (x[1] - 0.71).powi(2) + (x[2] - 0.5).powi(2);
        let x0 = vec![0.5; 3];
        let cfg = LineConfig {
            initial_step: 0.05,
            min_step: 1e-6,
            max_per_line: 6,
        };
        let mut c = LineSearch::new(x0.clone(), f(&x0), cfg).unwrap();
        let best = drive(&mut c, f, 15);
        assert!(best < 1e-12, "best {best}");
        let (x, fx) = c.center();
        assert_eq!(fx, best);
        assert!(
            (x[0] - 0.3).abs() < 1e-6 && (x[1] - 0.71).abs() < 1e-6,
            "{x:?}"
        );
        // The compass search with the same first step is far from it after
        // the same number of evaluations.
        let mut cs = CompassSearch::new(
            x0.clone(),
            f(&x0),
            CompassConfig {
                initial_step: 0.05,
                min_step: 1e-6,
                expand: 1.0,
            },
        )
        .unwrap();
        assert!(drive(&mut cs, f, 15) > 1e-4);
        // Points stay in the box with the minimum outside it; bad input is rejected.
        let g = |x: &[f64]| (x[0] - 1.2).powi(2);
        let mut c = LineSearch::new(vec![0.9], g(&[0.9]), cfg).unwrap();
        for _ in 0..20 {
            let xs = c.ask(1).unwrap();
            assert!(xs.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
            let ys: Vec<f64> = xs.iter().map(|x| g(x)).collect();
            c.tell(&xs, &ys).unwrap();
        }
        assert_eq!(c.center().0[0], 1.0);
        assert!(LineSearch::new(vec![1.5], 0.0, cfg).is_err());
        assert!(LineSearch::new(vec![0.5], f64::NAN, cfg).is_err());
        assert!(LineSearch::new(vec![0.5], 0.0, cfg)
            .unwrap()
            .with_order(vec![1])
            .is_err());
        let mut c = LineSearch::new(vec![0.5], 0.0, cfg).unwrap();
        assert!(c.tell(&[vec![0.1]], &[1.0]).is_err());
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
            expand: 2.0,
        };
        assert!(CompassSearch::new(vec![0.5], 0.0, bad).is_err());
        // Telling values for points that were not proposed is an error.
        let mut c = CompassSearch::new(vec![0.5], 0.0, CompassConfig::default()).unwrap();
        assert!(c.tell(&[vec![0.1]], &[1.0]).is_err());
    }

    #[test]
    fn then_compass_switches_after_the_global_budget_and_improves_on_it() {
        use crate::calibrate::optimizer::OptimizerKind;
        // Minimum 0 at x = (0.3, 0.7, 0.55, 0.1).
        let target = [0.3, 0.7, 0.55, 0.1];
        let f = |x: &[f64]| -> f64 { x.iter().zip(&target).map(|(a, b)| (a - b).powi(2)).sum() };
        let run = |local: bool| -> (f64, bool) {
            let global = OptimizerKind::Random.build(4, 60, 5).unwrap();
            let mut opt = ThenCompass::new(
                global,
                if local { 20 } else { usize::MAX },
                CompassConfig {
                    initial_step: 0.05,
                    min_step: 1e-3,
                    expand: 2.0,
                },
            )
            .unwrap();
            let mut best = f64::INFINITY;
            let mut told = 0;
            while told < 60 {
                let xs = opt.ask(3).unwrap();
                let ys: Vec<f64> = xs.iter().map(|x| f(x)).collect();
                best = ys.iter().copied().fold(best, f64::min);
                told += xs.len();
                opt.tell(&xs, &ys).unwrap();
            }
            (best, opt.in_local_phase())
        };
        let (global_only, switched_never) = run(false);
        let (with_local, switched) = run(true);
        assert!(!switched_never && switched);
        assert!(
            with_local < 0.1 * global_only,
            "local phase {with_local} vs random search alone {global_only}"
        );
    }
}

/// Settings of [`LineSearch`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineConfig {
    /// First probe distance along each coordinate (unit-cube coordinates).
    pub initial_step: f64,
    /// Probe distance below which it is reset to `initial_step`.
    pub min_step: f64,
    /// Most evaluations spent on one coordinate before moving on.
    pub max_per_line: usize,
}

/// Cyclic coordinate line searches by successive parabolic interpolation
/// from a known point (coordinate descent with a bracketing line search,
/// Nocedal & Wright 2006, ch. 9.3; parabolic step as in Brent 1973, ch. 5).
///
/// One coordinate at a time, in poll order: probe `t = +h` (and `-h` when
/// that does not improve), double the step in the improving direction while
/// it keeps improving, then evaluate the vertex of the parabola through the
/// best sample and its two neighbours; the centre moves to the best sample
/// of the line before the next coordinate. After every coordinate has had
/// its line, `h` halves. Unlike a compass poll, one line spends its
/// evaluations on finding where along the coordinate the value is lowest,
/// which on a narrowly smoothed step function (many small plateaus) moves
/// further per evaluation than accepting the first improving step.
pub struct LineSearch {
    dim: usize,
    cfg: LineConfig,
    center: Vec<f64>,
    f_center: f64,
    step: f64,
    order: Vec<usize>,
    /// Position in `order` of the coordinate being searched.
    pos: usize,
    /// Samples `(t, f)` of the current line, `t = 0` being the centre.
    line: Vec<(f64, f64)>,
    /// Whether the parabola vertex of the current line was evaluated.
    vertex_done: bool,
    /// The `t` of the point of the last ask, and whether it was a parabola vertex.
    outstanding: Option<(f64, bool)>,
    moves: usize,
}

impl LineSearch {
    /// A search around `center` (unit cube) whose value is `f_center`.
    pub fn new(center: Vec<f64>, f_center: f64, cfg: LineConfig) -> Result<Self> {
        if !(cfg.initial_step.is_finite()
            && cfg.initial_step > 0.0
            && cfg.initial_step <= 0.5
            && cfg.min_step > 0.0
            && cfg.min_step < cfg.initial_step
            && cfg.max_per_line >= 2)
        {
            return Err(Error::Parameter {
                name: "line step".into(),
                message: format!(
                    "need 0 < min_step < initial_step <= 0.5 and max_per_line >= 2, got {}, {} and {}",
                    cfg.min_step, cfg.initial_step, cfg.max_per_line
                ),
            });
        }
        if center.is_empty() || center.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::Parameter {
                name: "line centre".into(),
                message: format!("need a non-empty point of [0, 1]^d, got {center:?}"),
            });
        }
        if !f_center.is_finite() {
            return Err(Error::Parameter {
                name: "line centre value".into(),
                message: format!("must be finite, got {f_center}"),
            });
        }
        let dim = center.len();
        Ok(LineSearch {
            dim,
            cfg,
            center,
            f_center,
            step: cfg.initial_step,
            order: (0..dim).collect(),
            pos: 0,
            line: vec![(0.0, f_center)],
            vertex_done: false,
            outstanding: None,
            moves: 0,
        })
    }

    /// Search the coordinates in `order` (a permutation of `0..d`).
    pub fn with_order(mut self, order: Vec<usize>) -> Result<Self> {
        let mut sorted = order.clone();
        sorted.sort_unstable();
        if sorted != (0..self.dim).collect::<Vec<_>>() {
            return Err(Error::Parameter {
                name: "line order".into(),
                message: format!("{order:?} is not a permutation of 0..{}", self.dim),
            });
        }
        self.order = order;
        Ok(self)
    }

    /// Current centre and its value.
    pub fn center(&self) -> (&[f64], f64) {
        (&self.center, self.f_center)
    }

    /// Number of lines that moved the centre.
    pub fn moves(&self) -> usize {
        self.moves
    }

    fn coord(&self) -> usize {
        self.order[self.pos]
    }

    /// `t` clamped so that the point stays in the box.
    fn clamp_t(&self, t: f64) -> f64 {
        let c = self.center[self.coord()];
        t.clamp(-c, 1.0 - c)
    }

    fn known(&self, t: f64) -> bool {
        self.line.iter().any(|&(s, _)| (s - t).abs() <= 1e-12)
    }

    /// The next `t` to evaluate on the current line (and whether it is the
    /// parabola vertex), or `None` when the line is finished.
    fn next_t(&self) -> Option<(f64, bool)> {
        if self.line.len() > self.cfg.max_per_line {
            return None;
        }
        let mut s = self.line.clone();
        s.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (ib, &(tb, _)) = s
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1).1.total_cmp(&(b.1).1))?;
        let h = self.step;
        // Probe both sides of the centre first (the minus side only when the
        // plus side did not improve).
        for t in [h, -h] {
            let t = self.clamp_t(t);
            if t != 0.0 && !self.known(t) {
                if t < 0.0 && tb > 0.0 {
                    break;
                }
                return Some((t, false));
            }
        }
        // Extend while the best sample is the outermost one.
        if tb != 0.0 && (ib == 0 || ib == s.len() - 1) {
            let t = self.clamp_t(2.0 * tb);
            if !self.known(t) {
                return Some((t, false));
            }
        }
        // Parabola through the best sample and its neighbours.
        if !self.vertex_done && ib > 0 && ib + 1 < s.len() {
            let (a, b, c) = (s[ib - 1], s[ib], s[ib + 1]);
            let num = (b.0 - a.0).powi(2) * (b.1 - c.1) - (b.0 - c.0).powi(2) * (b.1 - a.1);
            let den = (b.0 - a.0) * (b.1 - c.1) - (b.0 - c.0) * (b.1 - a.1);
            if den.abs() > 0.0 {
                let t = self.clamp_t(b.0 - 0.5 * num / den);
                if t.is_finite() && t > a.0 && t < c.0 && !self.known(t) {
                    return Some((t, true));
                }
            }
        }
        None
    }

    /// Finish the current line: move to its best sample and go to the next
    /// coordinate (halving the step after a full cycle).
    fn finish_line(&mut self) {
        if let Some(&(t, f)) = self.line.iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
            if t != 0.0 && f < self.f_center {
                let j = self.coord();
                self.center[j] = (self.center[j] + t).clamp(0.0, 1.0);
                self.f_center = f;
                self.moves += 1;
            }
        }
        self.pos += 1;
        if self.pos == self.dim {
            self.pos = 0;
            self.step *= 0.5;
            if self.step < self.cfg.min_step {
                self.step = self.cfg.initial_step;
            }
        }
        self.line = vec![(0.0, self.f_center)];
        self.vertex_done = false;
    }
}

impl Optimizer for LineSearch {
    fn name(&self) -> &str {
        "line"
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn ask(&mut self, _q: usize) -> Result<Vec<Vec<f64>>> {
        if self.outstanding.is_some() {
            return Err(Error::Other(
                "line search: ask before the previous point was told".into(),
            ));
        }
        // A line with nothing to evaluate (a coordinate pinned at a bound with
        // a tiny step) is finished at once; every coordinate has a probe
        // inside the box within a few cycles.
        for _ in 0..(64 * self.dim) {
            if let Some((t, vertex)) = self.next_t() {
                let mut p = self.center.clone();
                let j = self.coord();
                p[j] = (p[j] + t).clamp(0.0, 1.0);
                self.outstanding = Some((t, vertex));
                return Ok(vec![p]);
            }
            self.finish_line();
        }
        Err(Error::Other("line search: no point to evaluate".into()))
    }
    fn tell(&mut self, xs: &[Vec<f64>], ys: &[f64]) -> Result<()> {
        let Some((t, vertex)) = self.outstanding.take() else {
            return Err(Error::Other("line search: tell without ask".into()));
        };
        if xs.len() != 1 || ys.len() != 1 {
            return Err(Error::Other(format!(
                "line search: told {} points and {} values for 1 proposed",
                xs.len(),
                ys.len()
            )));
        }
        if !ys[0].is_finite() {
            return Err(Error::Other(format!(
                "line search: value {} is not finite",
                ys[0]
            )));
        }
        self.line.push((t, ys[0]));
        if vertex {
            self.vertex_done = true;
        }
        if self.next_t().is_none() {
            self.finish_line();
        }
        Ok(())
    }
}
