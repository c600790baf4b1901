//! Optimisation test functions with known optima, used to test and benchmark
//! the optimisers and the calibration loop without a model.
//!
//! Definitions and optima follow Surjanovic & Bingham, "Virtual Library of
//! Simulation Experiments" (sfu.ca/~ssurjano), and Dixon & Szegő (1978) for
//! Branin and Hartmann-6.

use std::time::Duration;

use super::registry::{ParamSet, ParamSpace, ParamSpec, Registry};
use super::run::{Direction, Evaluation, PointObjective};
use crate::{Error, Result};

/// A test function on a box, to be minimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestFn {
    /// Branin-Hoo on [-5, 10] x [0, 15]; global minimum 0.397887 at three points.
    Branin,
    /// Hartmann-6 on [0, 1]^6; global minimum -3.32237.
    Hartmann6,
    /// Rosenbrock in `d` dimensions on [-5, 10]^d; minimum 0 at (1, ..., 1).
    Rosenbrock(usize),
    /// Sphere sum (x_i - 0.5)^2 in `d` dimensions on [-5.12, 5.12]^d; minimum 0.
    Sphere(usize),
}

impl TestFn {
    /// Parse `branin`, `hartmann6`, `rosenbrockD`, `sphereD` (e.g. `rosenbrock4`).
    pub fn parse(s: &str) -> Result<TestFn> {
        let bad = || {
            Error::Other(format!(
                "unknown test function `{s}` (expected branin, hartmann6, rosenbrock<d> or sphere<d>)"
            ))
        };
        match s {
            "branin" => Ok(TestFn::Branin),
            "hartmann6" => Ok(TestFn::Hartmann6),
            _ => {
                let (name, d) = if let Some(d) = s.strip_prefix("rosenbrock") {
                    ("r", d)
                } else if let Some(d) = s.strip_prefix("sphere") {
                    ("s", d)
                } else {
                    return Err(bad());
                };
                let d: usize = d.parse().map_err(|_| bad())?;
                if d == 0 || (name == "r" && d < 2) {
                    return Err(bad());
                }
                Ok(if name == "r" {
                    TestFn::Rosenbrock(d)
                } else {
                    TestFn::Sphere(d)
                })
            }
        }
    }

    /// Name as accepted by [`TestFn::parse`].
    pub fn name(&self) -> String {
        match self {
            TestFn::Branin => "branin".into(),
            TestFn::Hartmann6 => "hartmann6".into(),
            TestFn::Rosenbrock(d) => format!("rosenbrock{d}"),
            TestFn::Sphere(d) => format!("sphere{d}"),
        }
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        match self {
            TestFn::Branin => 2,
            TestFn::Hartmann6 => 6,
            TestFn::Rosenbrock(d) | TestFn::Sphere(d) => *d,
        }
    }

    /// Search box per dimension.
    pub fn bounds(&self) -> Vec<(f64, f64)> {
        match self {
            TestFn::Branin => vec![(-5.0, 10.0), (0.0, 15.0)],
            TestFn::Hartmann6 => vec![(0.0, 1.0); 6],
            TestFn::Rosenbrock(d) => vec![(-5.0, 10.0); *d],
            TestFn::Sphere(d) => vec![(-5.12, 5.12); *d],
        }
    }

    /// The global minimum value.
    pub fn optimum(&self) -> f64 {
        match self {
            TestFn::Branin => 0.397_887_357_729_738,
            TestFn::Hartmann6 => -3.322_368_011_391_339,
            TestFn::Rosenbrock(_) | TestFn::Sphere(_) => 0.0,
        }
    }

    /// Value at `x` (physical coordinates).
    pub fn eval(&self, x: &[f64]) -> f64 {
        match self {
            TestFn::Branin => branin(x[0], x[1]),
            TestFn::Hartmann6 => hartmann6(x),
            TestFn::Rosenbrock(_) => x
                .windows(2)
                .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
                .sum(),
            TestFn::Sphere(_) => x.iter().map(|v| (v - 0.5) * (v - 0.5)).sum(),
        }
    }

    /// A registry with one global parameter `x0`, `x1`, ... per dimension
    /// (defaults at the box centres).
    pub fn registry(&self) -> Result<Registry> {
        let specs = self
            .bounds()
            .iter()
            .enumerate()
            .map(|(i, &(lo, hi))| ParamSpec::global(&format!("x{i}"), "-", 0.5 * (lo + hi), lo, hi))
            .collect();
        Registry::from_specs(&self.name(), specs, Vec::new())
    }

    /// The parameter space over the whole box.
    pub fn space(&self) -> Result<ParamSpace> {
        Ok(ParamSpace::all(self.registry()?))
    }

    /// Whether `value` lies within `rel` (e.g. 0.01) of the optimum, measured
    /// relative to |optimum| (absolute for an optimum of 0).
    pub fn within(&self, value: f64, rel: f64) -> bool {
        let opt = self.optimum();
        let scale = if opt == 0.0 { 1.0 } else { opt.abs() };
        value - opt <= rel * scale
    }
}

/// Branin-Hoo function.
pub fn branin(x1: f64, x2: f64) -> f64 {
    use std::f64::consts::PI;
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

/// Hartmann 6-dimensional function.
pub fn hartmann6(x: &[f64]) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    -(0..4)
        .map(|i| {
            let s: f64 = (0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
            ALPHA[i] * (-s).exp()
        })
        .sum::<f64>()
}

/// A test function as a calibration objective (minimised), with an optional
/// per-evaluation sleep (to make runs slow enough to interrupt) and an optional
/// failure region (to exercise the failure policy).
pub struct TestObjective {
    /// The function.
    pub func: TestFn,
    /// Sleep this long in each evaluation.
    pub sleep: Duration,
    /// Evaluations whose first unit coordinate exceeds this fail with an error.
    pub fail_above_x0: Option<f64>,
}

impl TestObjective {
    /// A plain objective without sleep or failures.
    pub fn new(func: TestFn) -> Self {
        TestObjective {
            func,
            sleep: Duration::ZERO,
            fail_above_x0: None,
        }
    }
}

impl PointObjective for TestObjective {
    fn direction(&self) -> Direction {
        Direction::Minimise
    }
    fn evaluate(&self, set: &ParamSet) -> Result<Evaluation> {
        if !self.sleep.is_zero() {
            std::thread::sleep(self.sleep);
        }
        if let Some(t) = self.fail_above_x0 {
            let (lo, hi) = self.func.bounds()[0];
            if (set.values[0] - lo) / (hi - lo) > t {
                return Err(Error::model(
                    None,
                    format!("x0 = {} is in the failing region", set.values[0]),
                ));
            }
        }
        Ok(Evaluation::ok(self.func.eval(&set.values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_optima() {
        use std::f64::consts::PI;
        for (x1, x2) in [(-PI, 12.275), (PI, 2.275), (9.42478, 2.475)] {
            assert!((branin(x1, x2) - 0.397887).abs() < 1e-5, "{x1} {x2}");
        }
        let xh = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573];
        assert!((hartmann6(&xh) - (-3.32237)).abs() < 1e-5);
        assert_eq!(TestFn::Rosenbrock(4).eval(&[1.0; 4]), 0.0);
        assert_eq!(TestFn::Sphere(3).eval(&[0.5; 3]), 0.0);
        assert!(TestFn::Rosenbrock(2).eval(&[0.0, 0.0]) == 1.0);
        assert_eq!(TestFn::parse("rosenbrock5").unwrap(), TestFn::Rosenbrock(5));
        assert!(TestFn::parse("ackley").is_err());
    }
}
