//! Analytic benchmark functions for global sensitivity analysis, with their exact indices.

use std::f64::consts::PI;

/// Ishigami and Homma (1990) function on `x` in the unit cube, mapped to [-pi, pi]^3:
/// `f = sin x1 + a sin^2 x2 + b x3^4 sin x1`.
pub fn ishigami(x: &[f64], a: f64, b: f64) -> f64 {
    let z: Vec<f64> = x.iter().map(|v| -PI + 2.0 * PI * v).collect();
    z[0].sin() + a * z[1].sin().powi(2) + b * z[2].powi(4) * z[0].sin()
}

/// Exact first-order and total indices of the Ishigami function (Sobol and Levitan 1999).
pub fn ishigami_indices(a: f64, b: f64) -> ([f64; 3], [f64; 3]) {
    let v1 = 0.5 * (1.0 + b * PI.powi(4) / 5.0).powi(2);
    let v2 = a * a / 8.0;
    let v13 = b * b * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
    let v = v1 + v2 + v13;
    ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
}

/// Sobol' g-function (Saltelli and Sobol 1995): `prod_i (|4 x_i - 2| + a_i) / (1 + a_i)`.
pub fn g_function(x: &[f64], a: &[f64]) -> f64 {
    x.iter()
        .zip(a)
        .map(|(xi, ai)| ((4.0 * xi - 2.0).abs() + ai) / (1.0 + ai))
        .product()
}

/// Exact first-order and total indices of the g-function:
/// `V_i = 1 / (3 (1 + a_i)^2)`, `V = prod (1 + V_i) - 1`,
/// `S_i = V_i / V`, `ST_i = V_i prod_{j != i} (1 + V_j) / V`.
pub fn g_function_indices(a: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let vi: Vec<f64> = a
        .iter()
        .map(|ai| 1.0 / (3.0 * (1.0 + ai).powi(2)))
        .collect();
    let prod: f64 = vi.iter().map(|v| 1.0 + v).product();
    let v = prod - 1.0;
    let s1 = vi.iter().map(|x| x / v).collect();
    let st = vi.iter().map(|x| x * prod / (1.0 + x) / v).collect();
    (s1, st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ishigami_published_indices() {
        let (s1, st) = ishigami_indices(7.0, 0.1);
        let e1 = [0.3139, 0.4424, 0.0];
        let et = [0.5576, 0.4424, 0.2437];
        for i in 0..3 {
            assert!((s1[i] - e1[i]).abs() < 1e-4, "S1[{i}] = {}", s1[i]);
            assert!((st[i] - et[i]).abs() < 1e-4, "ST[{i}] = {}", st[i]);
        }
    }
}
