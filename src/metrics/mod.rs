//! Map and point scores: confusion matrix, Cohen's Kappa, overall accuracy, RMSE, bias, MAE, Pearson r, and trend estimators.

pub mod kappa;
pub mod region;
pub mod stats;
pub mod tiebreak;

pub use kappa::{
    score_class_codes, score_class_rasters, ClassScheme, ConfusionMatrix, KappaScore, KappaWeights,
};
pub use region::{boundary_mask, dilate, disagreement_mask};
pub use stats::{
    bias, decadal_trend, erfc, mae, mann_kendall, ols_fit, ols_slope_se, pearson_r, point_scores,
    rmse, sen_slope, DecadalTrend, LinearFit, MannKendall, PointScores,
};
pub use tiebreak::margin_misfit;
