//! Plausibility checks on forcing in SI units, shared by every reader.
//!
//! Readers call [`check_step`] on each converted step and turn a failure into
//! a [`crate::Error`] that names the file and the line (text formats) or the
//! time and cell (netCDF). The ranges are wide enough for any place on Earth
//! and narrow enough to catch a wrong unit (Celsius given as kelvin, hPa given
//! as Pa, accumulated energy given as a flux).

use super::ForcingStep;

/// Lowest accepted air temperature (K); lower values are almost always
/// Celsius given as kelvin.
pub const T_AIR_MIN: f64 = 150.0;
/// Highest accepted air temperature (K).
pub const T_AIR_MAX: f64 = 350.0;
/// Accepted surface pressure range (Pa): from the top of Everest to far above sea level.
pub const P_AIR_RANGE: (f64, f64) = (25_000.0, 110_000.0);
/// Highest accepted specific humidity (kg kg-1).
pub const Q_AIR_MAX: f64 = 0.06;
/// Highest accepted wind speed (m s-1).
pub const WIND_MAX: f64 = 100.0;
/// Highest accepted downward shortwave flux (W m-2), above the solar constant.
pub const SW_MAX: f64 = 1500.0;
/// Accepted downward longwave range (W m-2).
pub const LW_RANGE: (f64, f64) = (30.0, 700.0);
/// Highest accepted precipitation rate (kg m-2 s-1), 360 mm per hour.
pub const PRECIP_MAX: f64 = 0.1;

/// A failed check: the calimap variable name and what is wrong with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The variable (`t_air`, `q_air`, `p_air`, `wind`, `sw_down`, `lw_down`, `precip`).
    pub variable: &'static str,
    /// What is wrong, with the value and, when it is likely, the unit mistake.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "variable `{}`: {}", self.variable, self.message)
    }
}

fn v(variable: &'static str, message: String) -> Violation {
    Violation { variable, message }
}

/// Check that a value is finite; names the variable when it is not.
pub fn check_finite(variable: &'static str, x: f64) -> Result<(), Violation> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(v(variable, format!("value {x} is not a finite number")))
    }
}

/// Check one step in SI units against the plausible ranges above.
pub fn check_step(s: &ForcingStep) -> Result<(), Violation> {
    for (name, x) in [
        ("t_air", s.t_air),
        ("q_air", s.q_air),
        ("p_air", s.p_air),
        ("wind", s.wind),
        ("sw_down", s.sw_down),
        ("lw_down", s.lw_down),
        ("precip", s.precip),
    ] {
        check_finite(name, x)?;
    }
    if s.t_air < T_AIR_MIN {
        let hint = if s.t_air > -100.0 && s.t_air < 70.0 {
            " (looks like degrees Celsius given as kelvin)"
        } else {
            ""
        };
        return Err(v(
            "t_air",
            format!("air temperature {} K is below {T_AIR_MIN} K{hint}", s.t_air),
        ));
    }
    if s.t_air > T_AIR_MAX {
        return Err(v(
            "t_air",
            format!("air temperature {} K is above {T_AIR_MAX} K", s.t_air),
        ));
    }
    if !(0.0..=Q_AIR_MAX).contains(&s.q_air) {
        let hint = if s.q_air > 1.0 && s.q_air < 60.0 {
            " (looks like g/kg given as kg/kg, or relative humidity)"
        } else {
            ""
        };
        return Err(v(
            "q_air",
            format!(
                "specific humidity {} kg/kg is outside 0..{Q_AIR_MAX}{hint}",
                s.q_air
            ),
        ));
    }
    if s.p_air < P_AIR_RANGE.0 || s.p_air > P_AIR_RANGE.1 {
        let hint = if s.p_air > 250.0 && s.p_air < 1100.0 {
            " (looks like hPa given as Pa)"
        } else if s.p_air > 25.0 && s.p_air < 110.0 {
            " (looks like kPa given as Pa)"
        } else {
            ""
        };
        return Err(v(
            "p_air",
            format!(
                "surface pressure {} Pa is outside {}..{} Pa{hint}",
                s.p_air, P_AIR_RANGE.0, P_AIR_RANGE.1
            ),
        ));
    }
    if !(0.0..=WIND_MAX).contains(&s.wind) {
        return Err(v(
            "wind",
            format!("wind speed {} m/s is outside 0..{WIND_MAX}", s.wind),
        ));
    }
    if s.sw_down < 0.0 {
        return Err(v(
            "sw_down",
            format!("downward shortwave {} W/m2 is negative", s.sw_down),
        ));
    }
    if s.sw_down > SW_MAX {
        return Err(v(
            "sw_down",
            format!(
                "downward shortwave {} W/m2 is above {SW_MAX} (accumulated J/m2 given as W/m2?)",
                s.sw_down
            ),
        ));
    }
    if s.lw_down < 0.0 {
        return Err(v(
            "lw_down",
            format!("downward longwave {} W/m2 is negative", s.lw_down),
        ));
    }
    if s.lw_down < LW_RANGE.0 || s.lw_down > LW_RANGE.1 {
        return Err(v(
            "lw_down",
            format!(
                "downward longwave {} W/m2 is outside {}..{} (accumulated J/m2 given as W/m2?)",
                s.lw_down, LW_RANGE.0, LW_RANGE.1
            ),
        ));
    }
    if s.precip < 0.0 {
        return Err(v(
            "precip",
            format!("precipitation {} kg/m2/s is negative", s.precip),
        ));
    }
    if s.precip > PRECIP_MAX {
        return Err(v(
            "precip",
            format!(
                "precipitation {} kg/m2/s is above {PRECIP_MAX} (mm per step given as a rate?)",
                s.precip
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> ForcingStep {
        ForcingStep {
            t_air: 265.0,
            q_air: 0.002,
            p_air: 55_000.0,
            wind: 4.0,
            sw_down: 250.0,
            lw_down: 200.0,
            precip: 1e-5,
        }
    }

    #[test]
    fn accepts_plausible_and_names_the_bad_variable() {
        assert!(check_step(&good()).is_ok());
        let mut s = good();
        s.t_air = -8.0;
        let e = check_step(&s).unwrap_err();
        assert_eq!(e.variable, "t_air");
        assert!(e.message.contains("Celsius"), "{}", e.message);
        let mut s = good();
        s.p_air = 548.2;
        let e = check_step(&s).unwrap_err();
        assert_eq!(e.variable, "p_air");
        assert!(e.message.contains("hPa"));
        let mut s = good();
        s.sw_down = -3.0;
        assert_eq!(check_step(&s).unwrap_err().variable, "sw_down");
        let mut s = good();
        s.precip = f64::NAN;
        assert_eq!(check_step(&s).unwrap_err().variable, "precip");
        let mut s = good();
        s.lw_down = 4.0e6;
        assert_eq!(check_step(&s).unwrap_err().variable, "lw_down");
    }
}
