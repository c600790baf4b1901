//! Validation against borehole observations: reading observation files, matching sites to cells, metrics and reports.
//!
//! The entry point is [`validate`] (used by `calimap validate` and by an
//! experiment's `[validation]` section, [`ValidationSection`]); the steps are
//! [`obs::read_observations`], [`matching::match_observations`] and
//! [`scores::score_pairs`]. [`synthetic::synthetic_boreholes`] samples
//! observations from a known product for the demo.
pub mod ground;
pub mod matching;
pub mod obs;
pub mod run;
pub mod scores;
pub mod section;
pub mod synthetic;

pub use matching::{
    match_observations, MatchMethod, MatchOptions, MatchResult, MatchedPair, Unmatched,
};
pub use obs::{read_observations, write_observations, ObsVariable, Observation};
pub use run::{validate, validate_stack, ValidationConfig, ValidationReport};
pub use scores::{score_pairs, SiteSubset, SiteTrend, TrendScores, VariableScores};
pub use section::{validation_config_from_experiment, ValidationSection};
pub use synthetic::{synthetic_boreholes, write_synthetic_boreholes, SyntheticNoise};
