//! Daily freeze-thaw state of the near-surface soil (frozen / thawed /
//! transitional) from a daily temperature series, as used to compare a model's top
//! soil layer with the passive-microwave freeze-thaw earth-system data record
//! (Kim et al. 2011, IEEE TGRS 49:949-960; Kim et al. 2017, ESSD 9:133-147).
//!
//! Two rules:
//!
//! * [`FreezeThawRule::MeanBand`]: daily mean `T <= T0 - delta` is frozen,
//!   `T >= T0 + delta` (and `T > T0`) is thawed, anything inside the band is
//!   transitional; with `delta = 0` the rule is binary (`T <= T0` frozen);
//! * [`FreezeThawRule::DiurnalMinMax`]: daily maximum `<= T0` is frozen, daily
//!   minimum `> T0` is thawed, and a day whose minimum is at or below `T0` and
//!   whose maximum is above is transitional (a diurnal freeze-thaw cycle, the
//!   morning-frozen / afternoon-thawed class of the data record).
//!
//! Temperatures in degC, `T0` usually 0 degC.

use super::check;
use crate::{Error, Result};

/// The state of one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FreezeThawState {
    /// Frozen all day.
    Frozen,
    /// Thawed all day.
    Thawed,
    /// Near the threshold or freezing and thawing within the day.
    Transitional,
}

/// How a day is classified.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FreezeThawRule {
    /// Threshold `t0` (degC) with a transitional half-width `band` (K, >= 0) on the daily mean.
    MeanBand { t0: f64, band: f64 },
    /// Threshold `t0` (degC) applied to the daily minimum and maximum.
    DiurnalMinMax { t0: f64 },
}

/// State of one day from its mean (MeanBand) or its minimum and maximum (DiurnalMinMax), degC.
pub fn classify_day(
    rule: FreezeThawRule,
    t_mean: f64,
    t_min: f64,
    t_max: f64,
) -> Result<FreezeThawState> {
    Ok(match rule {
        FreezeThawRule::MeanBand { t0, band } => {
            let t = check::finite("t_mean", t_mean)?;
            check::finite("t0", t0)?;
            let band = check::non_negative("band", band)?;
            if t <= t0 - band {
                FreezeThawState::Frozen
            } else if t >= t0 + band && t > t0 {
                FreezeThawState::Thawed
            } else {
                FreezeThawState::Transitional
            }
        }
        FreezeThawRule::DiurnalMinMax { t0 } => {
            check::finite("t0", t0)?;
            let lo = check::finite("t_min", t_min)?;
            let hi = check::finite("t_max", t_max)?;
            if lo > hi {
                return Err(Error::Parameter {
                    name: "t_min".into(),
                    message: format!("daily minimum {lo} exceeds maximum {hi}"),
                });
            }
            if hi <= t0 {
                FreezeThawState::Frozen
            } else if lo > t0 {
                FreezeThawState::Thawed
            } else {
                FreezeThawState::Transitional
            }
        }
    })
}

/// States of a daily-mean series under a [`FreezeThawRule::MeanBand`] rule; errors name the day.
pub fn classify_mean_series(t_mean: &[f64], t0: f64, band: f64) -> Result<Vec<FreezeThawState>> {
    let rule = FreezeThawRule::MeanBand { t0, band };
    t_mean
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            classify_day(rule, t, t, t)
                .map_err(|e| Error::model(Some(format!("day {i}")), e.to_string()))
        })
        .collect()
}

/// States of daily minimum / maximum series under [`FreezeThawRule::DiurnalMinMax`].
pub fn classify_minmax_series(
    t_min: &[f64],
    t_max: &[f64],
    t0: f64,
) -> Result<Vec<FreezeThawState>> {
    check::same_len("t_min", t_min.len(), "t_max", t_max.len())?;
    let rule = FreezeThawRule::DiurnalMinMax { t0 };
    t_min
        .iter()
        .zip(t_max)
        .enumerate()
        .map(|(i, (&lo, &hi))| {
            classify_day(rule, 0.5 * (lo + hi), lo, hi)
                .map_err(|e| Error::model(Some(format!("day {i}")), e.to_string()))
        })
        .collect()
}

/// Daily means, minima and maxima from a sub-daily series of `steps_per_day`
/// values per day (for example the column model's top layer); a trailing partial
/// day is an error.
pub fn daily_stats(series: &[f64], steps_per_day: usize) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    if steps_per_day == 0 || !series.len().is_multiple_of(steps_per_day) {
        return Err(Error::Parameter {
            name: "steps_per_day".into(),
            message: format!(
                "{} values do not make whole days of {steps_per_day} steps",
                series.len()
            ),
        });
    }
    let (mut mean, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
    for (d, day) in series.chunks(steps_per_day).enumerate() {
        if let Some(j) = day.iter().position(|v| !v.is_finite()) {
            return Err(Error::model(
                Some(format!("day {d}")),
                format!("step {j} is not finite"),
            ));
        }
        mean.push(day.iter().sum::<f64>() / steps_per_day as f64);
        lo.push(day.iter().cloned().fold(f64::INFINITY, f64::min));
        hi.push(day.iter().cloned().fold(f64::NEG_INFINITY, f64::max));
    }
    Ok((mean, lo, hi))
}

/// Overall accuracy: the fraction of days whose state matches the reference.
pub fn overall_accuracy(
    predicted: &[FreezeThawState],
    reference: &[FreezeThawState],
) -> Result<f64> {
    check::same_len("predicted", predicted.len(), "reference", reference.len())?;
    if predicted.is_empty() {
        return Err(Error::Other("overall accuracy of an empty series".into()));
    }
    let hits = predicted
        .iter()
        .zip(reference)
        .filter(|(a, b)| a == b)
        .count();
    Ok(hits as f64 / predicted.len() as f64)
}
