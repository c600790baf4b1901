//! Unit conversions for meteorological forcing, applied once at the edge so
//! that everything downstream sees SI units.
//!
//! Every function is pure and documented with its formula; the hand-computed
//! values in the tests below check each one.

/// Freezing point of water (K).
pub const T_FREEZE: f64 = 273.15;

/// Ratio of the gas constants of dry air and water vapour, Rd/Rv (-).
pub const EPSILON: f64 = 0.622;

/// Density of liquid water (kg m-3), used to turn a water depth into a mass per area.
pub const RHO_WATER: f64 = 1000.0;

/// Celsius to kelvin: `T[K] = T[degC] + 273.15`.
pub fn celsius_to_kelvin(t_c: f64) -> f64 {
    t_c + T_FREEZE
}

/// Kelvin to Celsius: `T[degC] = T[K] - 273.15`.
pub fn kelvin_to_celsius(t_k: f64) -> f64 {
    t_k - T_FREEZE
}

/// Hectopascal (= millibar) to pascal: `p[Pa] = 100 p[hPa]`.
pub fn hpa_to_pa(p_hpa: f64) -> f64 {
    p_hpa * 100.0
}

/// Pascal to hectopascal: `p[hPa] = p[Pa] / 100`.
pub fn pa_to_hpa(p_pa: f64) -> f64 {
    p_pa / 100.0
}

/// Kilopascal to pascal: `p[Pa] = 1000 p[kPa]`.
pub fn kpa_to_pa(p_kpa: f64) -> f64 {
    p_kpa * 1000.0
}

/// Precipitation depth per step (mm = kg m-2) to a rate (kg m-2 s-1):
/// `P = depth / dt`, `dt` the step length in seconds.
pub fn mm_per_step_to_rate(mm: f64, dt: f64) -> f64 {
    mm / dt
}

/// Precipitation depth per step (m of water, e.g. ERA5 `tp`) to a rate
/// (kg m-2 s-1): `P = 1000 kg m-3 * depth / dt`.
pub fn m_per_step_to_rate(m: f64, dt: f64) -> f64 {
    m * RHO_WATER / dt
}

/// Precipitation rate (kg m-2 s-1) to a depth per step (mm): `depth = P dt`.
pub fn rate_to_mm_per_step(rate: f64, dt: f64) -> f64 {
    rate * dt
}

/// Energy accumulated over one step (J m-2, e.g. ERA5 `ssrd`, `strd`) to the
/// mean flux over that step (W m-2): `F = E / dt`.
pub fn accumulated_j_to_w(j_per_m2: f64, dt: f64) -> f64 {
    j_per_m2 / dt
}

/// Wind speed (m s-1) from its eastward and northward components: `sqrt(u² + v²)`.
pub fn wind_speed(u: f64, v: f64) -> f64 {
    u.hypot(v)
}

/// Saturation vapour pressure over liquid water (Pa) at air temperature `t` (K),
/// Bolton (1980, Mon. Wea. Rev. 108:1046, eq. 10):
/// `e_s = 611.2 exp(17.67 (T - 273.15) / (T - 29.65))`.
///
/// Used for dew points and for relative humidity given with respect to water
/// (the WMO convention, also below 0 C).
pub fn saturation_vapour_pressure_bolton(t: f64) -> f64 {
    611.2 * (17.67 * (t - T_FREEZE) / (t - 29.65)).exp()
}

/// Specific humidity (kg kg-1) from vapour pressure `e` (Pa) and air pressure
/// `p` (Pa): `q = ε e / (p - (1 - ε) e)`, ε = 0.622.
pub fn vapour_pressure_to_q(e: f64, p: f64) -> f64 {
    EPSILON * e / (p - (1.0 - EPSILON) * e)
}

/// Vapour pressure (Pa) from specific humidity (kg kg-1) and air pressure (Pa),
/// the inverse of [`vapour_pressure_to_q`]: `e = q p / (ε + (1 - ε) q)`.
pub fn q_to_vapour_pressure(q: f64, p: f64) -> f64 {
    q * p / (EPSILON + (1.0 - EPSILON) * q)
}

/// Specific humidity (kg kg-1) from the dew point `td` (K) and air pressure `p`
/// (Pa): the vapour pressure is the saturation pressure at the dew point
/// (Bolton 1980), `q = ε e_s(Td) / (p - (1 - ε) e_s(Td))`. This is how ERA5's
/// `d2m` and `sp` give the 2 m specific humidity (ECMWF IFS documentation,
/// Part IV, eq. 7.4, uses the Tetens form with the same water constants).
pub fn dewpoint_to_q(td: f64, p: f64) -> f64 {
    vapour_pressure_to_q(saturation_vapour_pressure_bolton(td), p)
}

/// Specific humidity (kg kg-1) from relative humidity `rh` (percent, 0-100,
/// with respect to water), air temperature `t` (K) and pressure `p` (Pa):
/// `e = rh/100 e_s(T)` (Bolton 1980), then [`vapour_pressure_to_q`].
pub fn rh_to_q(rh_percent: f64, t: f64, p: f64) -> f64 {
    vapour_pressure_to_q(rh_percent / 100.0 * saturation_vapour_pressure_bolton(t), p)
}

/// Relative humidity (percent, with respect to water) from specific humidity
/// (kg kg-1), temperature (K) and pressure (Pa), the inverse of [`rh_to_q`].
pub fn q_to_rh(q: f64, t: f64, p: f64) -> f64 {
    100.0 * q_to_vapour_pressure(q, p) / saturation_vapour_pressure_bolton(t)
}

/// Specific humidity (kg kg-1) from relative humidity as the Noah LSM 3.4.1
/// point driver computes it (`read_forcing_text` in `module_ascii_io`), so that
/// runs on Noah ASCII forcing see exactly the humidity Noah sees:
///
/// * latent heat varying with temperature, `Lv = 2.501e6 - (4187 - 1870)(T - 273.15)` J kg-1;
/// * Clausius-Clapeyron saturation pressure, `e_s = 611.2 exp(Lv (1/273.15 - 1/T) / 461.5)` Pa;
/// * relative humidity taken as a ratio of mixing ratios, `e = p e_s r / (p - e_s (1 - r))`, r = rh/100;
/// * `q = ε e / (p - (1 - ε) e)`, bounded to `[1e-6, 0.99 q_s]` with
///   `q_s = ε e_s / (p - (1 - ε) e_s)`.
pub fn rh_to_q_noah(rh_percent: f64, t: f64, p: f64) -> f64 {
    const CPV: f64 = 1870.0;
    const RV: f64 = 461.5;
    const CW: f64 = 4187.0;
    const ES0: f64 = 611.2;
    const LVH2O: f64 = 2.501e6;
    let r = rh_percent * 0.01;
    let lv = LVH2O - (CW - CPV) * (t - T_FREEZE);
    let es = ES0 * (lv * (1.0 / T_FREEZE - 1.0 / t) / RV).exp();
    let qs = EPSILON * es / (p - (1.0 - EPSILON) * es);
    let e = p * es * r / (p - es * (1.0 - r));
    let q = EPSILON * e / (p - (1.0 - EPSILON) * e);
    q.max(1e-6).min(0.99 * qs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
    }

    #[test]
    fn temperature_and_pressure() {
        close(celsius_to_kelvin(-5.0), 268.15, 1e-12);
        close(kelvin_to_celsius(300.0), 26.85, 1e-12);
        close(hpa_to_pa(548.22), 54822.0, 1e-9);
        close(pa_to_hpa(101325.0), 1013.25, 1e-12);
        close(kpa_to_pa(57.3), 57300.0, 1e-9);
    }

    #[test]
    fn precipitation_and_radiation_per_step() {
        // 3 mm in a 3-hour step: 3 / 10800 = 2.7778e-4 kg m-2 s-1.
        close(mm_per_step_to_rate(3.0, 10800.0), 2.777_777_8e-4, 1e-11);
        // 0.002 m in 6 h: 2 kg m-2 / 21600 s = 9.259e-5.
        close(m_per_step_to_rate(0.002, 21600.0), 9.259_259_3e-5, 1e-12);
        close(rate_to_mm_per_step(1e-4, 86400.0), 8.64, 1e-12);
        // 4.32e6 J m-2 over 6 h = 200 W m-2.
        close(accumulated_j_to_w(4.32e6, 21600.0), 200.0, 1e-9);
    }

    #[test]
    fn wind_components() {
        close(wind_speed(3.0, -4.0), 5.0, 1e-12);
        close(wind_speed(0.0, 0.0), 0.0, 0.0);
    }

    #[test]
    fn humidity() {
        // Bolton at 0 C is 611.2 Pa exactly; at 20 C, 611.2 exp(353.4/263.5) = 2336.95 Pa.
        close(saturation_vapour_pressure_bolton(273.15), 611.2, 1e-9);
        close(saturation_vapour_pressure_bolton(293.15), 2336.95, 0.01);
        // Dew point 0 C at 1000 hPa: q = 0.622*611.2/(100000 - 0.378*611.2) = 0.0038105.
        close(dewpoint_to_q(273.15, 100000.0), 0.003_810_5, 1e-7);
        // 50 % at 20 C and 1000 hPa: e = 1168.47 Pa, q = 0.0073001.
        close(rh_to_q(50.0, 293.15, 100000.0), 0.007_300_1, 1e-7);
        let q = rh_to_q(37.0, 265.0, 55000.0);
        close(q_to_rh(q, 265.0, 55000.0), 37.0, 1e-9);
    }

    #[test]
    fn noah_driver_humidity() {
        // At 0 C Lv = 2.501e6 and e_s = 611.2 Pa; with r = 0.5 and p = 1e5 Pa:
        // e = 1e5*611.2*0.5/(1e5 - 305.6) = 306.537 Pa; q = 0.622 e/(p - 0.378 e) = 0.00190887.
        close(rh_to_q_noah(50.0, 273.15, 100000.0), 0.001_908_87, 1e-8);
        // Saturated air is bounded to 0.99 q_s: q_s = 0.622*611.2/(1e5 - 0.378*611.2).
        let qs = 0.622 * 611.2 / (100000.0 - 0.378 * 611.2);
        close(rh_to_q_noah(100.0, 273.15, 100000.0), 0.99 * qs, 1e-12);
        // Completely dry air is bounded below by 1e-6.
        close(rh_to_q_noah(0.0, 260.0, 55000.0), 1e-6, 0.0);
    }
}

/// The quantities a forcing file may hold, before they become the seven
/// calimap variables of a [`super::ForcingStep`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quantity {
    /// Air temperature; SI unit K.
    AirTemperature,
    /// Specific humidity; SI unit kg kg-1.
    SpecificHumidity,
    /// Relative humidity with respect to water; internal unit percent.
    RelativeHumidity,
    /// Dew-point temperature; SI unit K.
    DewPoint,
    /// Surface air pressure; SI unit Pa.
    Pressure,
    /// Wind speed or one wind component; SI unit m s-1.
    Wind,
    /// Downward shortwave or longwave radiation; SI unit W m-2.
    Radiation,
    /// Precipitation; SI unit kg m-2 s-1.
    Precipitation,
}

impl Quantity {
    /// The internal unit, for messages.
    pub fn si_unit(self) -> &'static str {
        match self {
            Quantity::AirTemperature | Quantity::DewPoint => "K",
            Quantity::SpecificHumidity => "kg/kg",
            Quantity::RelativeHumidity => "%",
            Quantity::Pressure => "Pa",
            Quantity::Wind => "m/s",
            Quantity::Radiation => "W/m2",
            Quantity::Precipitation => "kg/m2/s",
        }
    }

    /// The unit spellings [`parse_unit`] accepts, for messages.
    pub fn accepted_units(self) -> &'static str {
        match self {
            Quantity::AirTemperature | Quantity::DewPoint => "K, degC",
            Quantity::SpecificHumidity => "kg/kg, g/kg, 1",
            Quantity::RelativeHumidity => "%, 1 (fraction)",
            Quantity::Pressure => "Pa, hPa (mbar), kPa",
            Quantity::Wind => "m/s (m s-1)",
            Quantity::Radiation => "W/m2 (W m-2), J/m2 accumulated per step (J m-2)",
            Quantity::Precipitation => {
                "kg/m2/s (kg m-2 s-1, mm/s), mm/h, mm/d, mm or kg/m2 per step, m per step"
            }
        }
    }
}

/// How to turn a stored value into the internal unit:
/// `si = (x * scale + offset) / (dt if per_step else 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conversion {
    /// Multiplier.
    pub scale: f64,
    /// Added after scaling.
    pub offset: f64,
    /// The value is an amount accumulated over one time step (J m-2, mm, m):
    /// dividing by the step length gives the mean rate.
    pub per_step: bool,
}

impl Conversion {
    /// The identity conversion.
    pub const IDENTITY: Conversion = Conversion {
        scale: 1.0,
        offset: 0.0,
        per_step: false,
    };

    /// Apply to value `x` of a step of `dt` seconds.
    pub fn apply(&self, x: f64, dt: f64) -> f64 {
        let y = x * self.scale + self.offset;
        if self.per_step {
            y / dt
        } else {
            y
        }
    }
}

/// Canonical form of a unit string: lower case, without spaces, `*`, `^`,
/// `.` and `·`, so that `W m**-2`, `W m-2` and `w.m^-2` compare equal.
pub fn normalise_unit(unit: &str) -> String {
    unit.trim()
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '*' | '^' | '.' | '·' | '_'))
        .collect()
}

/// The conversion of `unit` (a CF `units` attribute or a CSV header unit)
/// to the internal unit of quantity `q`; an error message listing the accepted
/// spellings when the unit is unknown for that quantity.
pub fn parse_unit(q: Quantity, unit: &str) -> std::result::Result<Conversion, String> {
    let u = normalise_unit(unit);
    let c = |scale: f64, offset: f64, per_step: bool| {
        Some(Conversion {
            scale,
            offset,
            per_step,
        })
    };
    let conv = match q {
        Quantity::AirTemperature | Quantity::DewPoint => match u.as_str() {
            "k" | "kelvin" | "degk" | "degreesk" => c(1.0, 0.0, false),
            "degc" | "c" | "°c" | "celsius" | "degreec" | "degreesc" | "degreecelsius"
            | "degreescelsius" => c(1.0, T_FREEZE, false),
            _ => None,
        },
        Quantity::SpecificHumidity => match u.as_str() {
            "kg/kg" | "kgkg-1" | "1" | "-" | "" => c(1.0, 0.0, false),
            "g/kg" | "gkg-1" => c(1e-3, 0.0, false),
            _ => None,
        },
        Quantity::RelativeHumidity => match u.as_str() {
            "%" | "percent" => c(1.0, 0.0, false),
            "1" | "-" | "fraction" | "" => c(100.0, 0.0, false),
            _ => None,
        },
        Quantity::Pressure => match u.as_str() {
            "pa" => c(1.0, 0.0, false),
            "hpa" | "mbar" | "mb" | "millibar" => c(100.0, 0.0, false),
            "kpa" => c(1000.0, 0.0, false),
            _ => None,
        },
        Quantity::Wind => match u.as_str() {
            "m/s" | "ms-1" => c(1.0, 0.0, false),
            _ => None,
        },
        Quantity::Radiation => match u.as_str() {
            "w/m2" | "wm-2" => c(1.0, 0.0, false),
            "j/m2" | "jm-2" => c(1.0, 0.0, true),
            _ => None,
        },
        Quantity::Precipitation => match u.as_str() {
            "kg/m2/s" | "kgm-2s-1" | "mm/s" | "mms-1" => c(1.0, 0.0, false),
            "mm/h" | "mm/hr" | "mmh-1" | "mmhr-1" => c(1.0 / 3600.0, 0.0, false),
            "mm/d" | "mm/day" | "mmd-1" | "mmday-1" => c(1.0 / 86400.0, 0.0, false),
            "mm" | "kg/m2" | "kgm-2" | "mm/step" => c(1.0, 0.0, true),
            "m" | "m/step" => c(RHO_WATER, 0.0, true),
            _ => None,
        },
    };
    conv.ok_or_else(|| {
        format!(
            "unit `{unit}` is not known for {:?} (accepted: {})",
            q,
            q.accepted_units()
        )
    })
}

#[cfg(test)]
mod unit_string_tests {
    use super::*;

    #[test]
    fn cf_and_csv_spellings() {
        let t = parse_unit(Quantity::AirTemperature, "degC").unwrap();
        assert_eq!(t.apply(-5.0, 3600.0), 268.15);
        let r = parse_unit(Quantity::Radiation, "J m**-2").unwrap();
        assert!(r.per_step);
        assert_eq!(r.apply(4.32e6, 21600.0), 200.0);
        let p = parse_unit(Quantity::Precipitation, "m").unwrap();
        assert!((p.apply(0.002, 21600.0) - 9.259_259_259e-5).abs() < 1e-14);
        let p = parse_unit(Quantity::Precipitation, "mm/h").unwrap();
        assert!((p.apply(3.6, 3600.0) - 1e-3).abs() < 1e-15);
        assert_eq!(
            parse_unit(Quantity::Wind, "m s**-1").unwrap(),
            Conversion::IDENTITY
        );
        assert_eq!(
            parse_unit(Quantity::Pressure, "hPa")
                .unwrap()
                .apply(548.0, 1.0),
            54800.0
        );
        let e = parse_unit(Quantity::Pressure, "psi").unwrap_err();
        assert!(e.contains("psi") && e.contains("hPa"), "{e}");
    }
}
