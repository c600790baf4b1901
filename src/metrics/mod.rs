//! Map and point scores: confusion matrix, Cohen's Kappa, overall accuracy, RMSE, bias, MAE, Pearson r, and trend estimators.
