//! Scores of matched pairs: point scores per variable and member, and
//! decadal trends per site.
//!
//! * **Point scores** ([`crate::metrics::point_scores`]): n, RMSE, bias
//!   (`mean(sim - obs)`), MAE and Pearson r over the pairs of one variable and
//!   one member slot, for all sites and for independent sites only.
//! * **Trends**: for each site, variable (and MAGT depth) and member slot,
//!   the single-year pairs (period observations carry no trend) with at least
//!   [`MIN_TREND_YEARS`] distinct years give an observed and a simulated trend
//!   by ordinary least squares and by Sen's slope (Sen 1968), with x in years,
//!   reported per decade (slope x 10), each with its Mann-Kendall p-value.
//!   The trend scores are the RMSE and bias of simulated against observed
//!   trends over those sites, separately for OLS and Sen's slope, and the
//!   share of sites whose simulated Sen's slope has the observed one's sign.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::matching::{MatchResult, MatchedPair};
use super::obs::ObsVariable;
use crate::metrics::stats::sign;
use crate::metrics::{mann_kendall, ols_fit, point_scores, sen_slope, PointScores};
use crate::Result;

/// Fewest distinct years of a site's series for a trend.
pub const MIN_TREND_YEARS: usize = 3;

/// Which sites a score covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteSubset {
    /// Every matched site.
    All,
    /// Sites outside the calibration's sensitive region.
    Independent,
}

impl SiteSubset {
    /// The spelling in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Independent => "independent",
        }
    }
}

/// Observed and simulated trends of one site series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteTrend {
    pub site_id: String,
    pub variable: ObsVariable,
    /// MAGT depth (m).
    pub depth: Option<f64>,
    pub member: String,
    /// Distinct years in the series.
    pub n_years: usize,
    /// First and last year.
    pub first_year: i32,
    pub last_year: i32,
    /// OLS trends (unit per decade).
    pub obs_ols: f64,
    pub sim_ols: f64,
    /// Sen's-slope trends (unit per decade).
    pub obs_sen: f64,
    pub sim_sen: f64,
    /// Two-sided Mann-Kendall p-values; `None` for a series without variation.
    pub obs_mk_p: Option<f64>,
    pub sim_mk_p: Option<f64>,
    /// True when every pair of the series is independent.
    pub independent: bool,
}

/// RMSE and bias of simulated against observed trends over sites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendScores {
    /// Number of site series.
    pub n_sites: usize,
    /// RMSE of OLS trends (unit per decade).
    pub rmse_ols: f64,
    /// Mean of simulated minus observed OLS trends (unit per decade).
    pub bias_ols: f64,
    /// RMSE of Sen's-slope trends (unit per decade).
    pub rmse_sen: f64,
    /// Mean of simulated minus observed Sen's-slope trends (unit per decade).
    pub bias_sen: f64,
    /// Share of the sites whose simulated Sen's slope has the sign of the
    /// observed one (rising, falling or zero).
    pub sign_agreement: f64,
}

/// Scores of one variable, member slot and site subset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariableScores {
    pub variable: ObsVariable,
    pub member: String,
    pub subset: SiteSubset,
    /// Point scores; `None` without pairs.
    pub scores: Option<PointScores>,
    /// Trend scores; `None` without a site series long enough.
    pub trend: Option<TrendScores>,
}

type SeriesKey = (String, ObsVariable, Option<u64>, String);

/// Trends of every site series with at least [`MIN_TREND_YEARS`] distinct
/// single years, ordered by site, variable, depth and member.
pub fn site_trends(pairs: &[MatchedPair]) -> Result<Vec<SiteTrend>> {
    let mut groups: BTreeMap<SeriesKey, Vec<&MatchedPair>> = BTreeMap::new();
    for p in pairs.iter().filter(|p| p.start == p.end) {
        groups
            .entry((
                p.site_id.clone(),
                p.variable,
                p.depth.map(f64::to_bits),
                p.member.clone(),
            ))
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    for ((site_id, variable, depth, member), ps) in groups {
        let mut years: Vec<i32> = ps.iter().map(|p| p.start).collect();
        years.sort_unstable();
        years.dedup();
        if years.len() < MIN_TREND_YEARS {
            continue;
        }
        let x: Vec<f64> = ps.iter().map(|p| p.start as f64).collect();
        let obs: Vec<f64> = ps.iter().map(|p| p.obs).collect();
        let sim: Vec<f64> = ps.iter().map(|p| p.sim).collect();
        out.push(SiteTrend {
            site_id,
            variable,
            depth: depth.map(f64::from_bits),
            member,
            n_years: years.len(),
            first_year: years[0],
            last_year: years[years.len() - 1],
            obs_ols: 10.0 * ols_fit(&x, &obs)?.slope,
            sim_ols: 10.0 * ols_fit(&x, &sim)?.slope,
            obs_sen: 10.0 * sen_slope(&x, &obs)?.slope,
            sim_sen: 10.0 * sen_slope(&x, &sim)?.slope,
            obs_mk_p: mann_kendall(&x, &obs).ok().map(|m| m.p),
            sim_mk_p: mann_kendall(&x, &sim).ok().map(|m| m.p),
            independent: ps.iter().all(|p| p.independent),
        });
    }
    Ok(out)
}

/// RMSE and bias of the trends in `trends` (all of one variable and member).
pub fn trend_scores(trends: &[&SiteTrend]) -> Option<TrendScores> {
    let col = |f: fn(&SiteTrend) -> f64| trends.iter().map(|t| f(t)).collect::<Vec<f64>>();
    let ols = point_scores(&col(|t| t.sim_ols), &col(|t| t.obs_ols)).ok()?;
    let sen = point_scores(&col(|t| t.sim_sen), &col(|t| t.obs_sen)).ok()?;
    let agree = trends
        .iter()
        .filter(|t| sign(t.sim_sen) == sign(t.obs_sen))
        .count();
    Some(TrendScores {
        n_sites: trends.len(),
        rmse_ols: ols.rmse,
        bias_ols: ols.bias,
        rmse_sen: sen.rmse,
        bias_sen: sen.bias,
        sign_agreement: agree as f64 / trends.len() as f64,
    })
}

/// Point and trend scores for every variable present in the pairs, every
/// member slot of `result` and both site subsets (the independent subset only
/// when some pair is not independent, since it would repeat `all`).
pub fn score_pairs(result: &MatchResult) -> Result<(Vec<VariableScores>, Vec<SiteTrend>)> {
    let trends = site_trends(&result.pairs)?;
    let mut variables: Vec<ObsVariable> = result.pairs.iter().map(|p| p.variable).collect();
    variables.sort();
    variables.dedup();
    let mut subsets = vec![SiteSubset::All];
    if result.pairs.iter().any(|p| !p.independent) {
        subsets.push(SiteSubset::Independent);
    }
    let mut out = Vec::new();
    for &variable in &variables {
        for member in &result.members {
            for &subset in &subsets {
                let keep = |independent: bool| subset == SiteSubset::All || independent;
                let ps: Vec<&MatchedPair> = result
                    .pairs
                    .iter()
                    .filter(|p| {
                        p.variable == variable && &p.member == member && keep(p.independent)
                    })
                    .collect();
                let sim: Vec<f64> = ps.iter().map(|p| p.sim).collect();
                let obs: Vec<f64> = ps.iter().map(|p| p.obs).collect();
                let ts: Vec<&SiteTrend> = trends
                    .iter()
                    .filter(|t| {
                        t.variable == variable && &t.member == member && keep(t.independent)
                    })
                    .collect();
                out.push(VariableScores {
                    variable,
                    member: member.clone(),
                    subset,
                    scores: point_scores(&sim, &obs).ok(),
                    trend: trend_scores(&ts),
                });
            }
        }
    }
    Ok((out, trends))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(site: &str, year: i32, obs: f64, sim: f64, independent: bool) -> MatchedPair {
        MatchedPair {
            obs_index: 0,
            line: 2,
            site_id: site.into(),
            variable: ObsVariable::Alt,
            depth: None,
            start: year,
            end: year,
            member: "run".into(),
            obs,
            sim,
            lapse_correction: None,
            row: 0,
            col: 0,
            independent,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn trends_per_decade_hand_computed() {
        // Site A: obs 1.0, 1.2, 1.1, 1.5 in 2000..2003; sim 2.0, 2.1, 2.2, 2.3.
        // OLS obs: x - 2001.5 = -1.5, -0.5, 0.5, 1.5; y - 1.2 = -0.2, 0, -0.1, 0.3;
        // sxy = 0.3 + 0 - 0.05 + 0.45 = 0.7, sxx = 5 -> 0.14 / a -> 1.4 / decade.
        // Sen obs: slopes 0.2, 0.05, 0.1667, -0.1, 0.15, 0.4 -> median (0.15 + 0.1667)/2.
        // Sim is linear, 0.1 / a -> 1.0 / decade by both.
        // Site B has two years only: no trend.
        let obs = [1.0, 1.2, 1.1, 1.5];
        let sim = [2.0, 2.1, 2.2, 2.3];
        let mut pairs: Vec<MatchedPair> = (0..4)
            .map(|i| pair("A", 2000 + i, obs[i as usize], sim[i as usize], true))
            .collect();
        pairs.push(pair("B", 2000, 1.0, 1.0, false));
        pairs.push(pair("B", 2001, 1.0, 1.0, false));
        let t = site_trends(&pairs).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].n_years, t[0].first_year, t[0].last_year),
            (4, 2000, 2003)
        );
        assert!(close(t[0].obs_ols, 1.4), "{}", t[0].obs_ols);
        assert!(close(t[0].sim_ols, 1.0) && close(t[0].sim_sen, 1.0));
        let sen = 10.0 * (0.15 + 0.5 / 3.0) / 2.0;
        assert!(close(t[0].obs_sen, sen), "{} vs {sen}", t[0].obs_sen);
        // Mann-Kendall p-values as pymannkendall 1.4.3's original_test gives them.
        assert!((t[0].obs_mk_p.unwrap() - 0.3081795474670539).abs() < 1e-12);
        assert!((t[0].sim_mk_p.unwrap() - 0.08942935902899363).abs() < 1e-12);

        let result = MatchResult {
            members: vec!["run".into()],
            pairs,
            unmatched: Vec::new(),
        };
        let (scores, _) = score_pairs(&result).unwrap();
        assert_eq!(scores.len(), 2);
        let all = &scores[0];
        assert_eq!(all.subset, SiteSubset::All);
        let s = all.scores.as_ref().unwrap();
        // Errors: 1.0, 0.9, 1.1, 0.8, 0, 0.
        assert_eq!(s.n, 6);
        assert!(close(s.bias, 3.8 / 6.0));
        assert!(close(s.rmse, ((1.0 + 0.81 + 1.21 + 0.64) / 6.0f64).sqrt()));
        let tr = all.trend.as_ref().unwrap();
        assert_eq!(tr.n_sites, 1);
        assert!(close(tr.bias_ols, -0.4) && close(tr.rmse_ols, 0.4));
        assert!(close(tr.bias_sen, 1.0 - sen));
        assert_eq!(tr.sign_agreement, 1.0);
        // Independent subset: site A only.
        let ind = scores[1].scores.as_ref().unwrap();
        assert_eq!(ind.n, 4);
        assert!(close(ind.mae, 0.95));
    }

    #[test]
    fn sign_agreement_counts_sites_whose_trends_share_a_sign() {
        // A: both rising. C: observed falling, simulated rising. D: both falling.
        let series = [
            ("A", [1.0, 1.2, 1.1, 1.5], [2.0, 2.1, 2.2, 2.3]),
            ("C", [2.0, 1.9, 1.7, 1.8], [1.0, 1.1, 1.2, 1.3]),
            ("D", [3.0, 2.9, 2.8, 2.7], [3.0, 2.5, 2.0, 1.5]),
        ];
        let pairs: Vec<MatchedPair> = series
            .iter()
            .flat_map(|(site, obs, sim)| {
                (0..4).map(move |i| pair(site, 2000 + i, obs[i as usize], sim[i as usize], true))
            })
            .collect();
        let t = site_trends(&pairs).unwrap();
        assert_eq!(t.len(), 3);
        assert!((t[1].obs_mk_p.unwrap() - 0.3081795474670539).abs() < 1e-12);
        let refs: Vec<&SiteTrend> = t.iter().collect();
        let tr = trend_scores(&refs).unwrap();
        assert_eq!(tr.n_sites, 3);
        assert!(close(tr.sign_agreement, 2.0 / 3.0));
    }
}
