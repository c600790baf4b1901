//! Map and point scores: confusion matrix, Cohen's Kappa, overall accuracy, RMSE, bias, MAE, Pearson r, and trend estimators.

pub mod kappa;
pub mod stats;

pub use kappa::{
    score_class_codes, score_class_rasters, ClassScheme, ConfusionMatrix, KappaScore, KappaWeights,
};
pub use stats::{
    bias, mae, ols_fit, pearson_r, point_scores, rmse, sen_slope, LinearFit, PointScores,
};
