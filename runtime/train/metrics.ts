import { MlopsError } from "../../src/errors.js";

/**
 * Holdout metrics for the evaluation gate. Pure functions over parallel arrays; each checks lengths and
 * values and throws MlopsError naming the problem (a gate must never pass on NaN). Definitions match
 * scikit-learn's `roc_auc_score`, `accuracy_score`, `log_loss`, `root_mean_squared_error` and
 * `mean_absolute_error`.
 */

/** Default probability clip of {@link logLoss}: log(1e-15) bounds one row's loss at ≈ 34.5. */
export const LOG_LOSS_EPS = 1e-15;

type Values = ArrayLike<number>;

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative,
 * ties counting one half (the Mann–Whitney U statistic with average ranks). O(n log n).
 *
 * @param yTrue labels, each 0 or 1, both classes present
 * @param score any real-valued score (probability, logit, …); higher means more likely 1
 */
export function auc(yTrue: Values, score: Values): number {
  const n = checkPair("auc", yTrue, score);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    checkLabel("auc", yTrue[i]!, i);
    checkFinite("auc", "score", score[i]!, i);
    positives += yTrue[i]!;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw MlopsError.of("auc", "is undefined with a single class in the labels", { positives, negatives }, "Evaluate on a holdout with both classes (a larger or stratified split).");
  }
  // Sorting each class's scores with the native numeric sort and merging beats sorting index arrays
  // with a comparator by an order of magnitude on a million rows.
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    if (yTrue[i] === 1) pos[p++] = score[i]!;
    else neg[q++] = score[i]!;
  }
  pos.sort();
  neg.sort();
  // For each run of equal positive scores: negatives strictly below count 1, equal ones count 1/2.
  let below = 0;
  let pairs = 0;
  for (let i = 0; i < positives; ) {
    const s = pos[i]!;
    let run = 0;
    while (i < positives && pos[i] === s) {
      i++;
      run++;
    }
    while (below < negatives && neg[below]! < s) below++;
    let equal = 0;
    while (below + equal < negatives && neg[below + equal] === s) equal++;
    pairs += run * (below + equal / 2);
  }
  return pairs / positives / negatives;
}

/**
 * Share of rows whose predicted class (probability ≥ `threshold` → 1) equals the label.
 *
 * @param threshold @default 0.5
 */
export function accuracy(yTrue: Values, prob: Values, threshold = 0.5): number {
  const n = checkPair("accuracy", yTrue, prob);
  let right = 0;
  for (let i = 0; i < n; i++) {
    checkLabel("accuracy", yTrue[i]!, i);
    checkProbability("accuracy", prob[i]!, i);
    if ((prob[i]! >= threshold ? 1 : 0) === yTrue[i]) right++;
  }
  return right / n;
}

/**
 * Mean binary cross-entropy, probabilities clipped to [eps, 1 − eps] so a confident miss costs a large
 * finite amount instead of Infinity.
 *
 * @param eps @default {@link LOG_LOSS_EPS}
 */
export function logLoss(yTrue: Values, prob: Values, eps = LOG_LOSS_EPS): number {
  const n = checkPair("logLoss", yTrue, prob);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    checkLabel("logLoss", yTrue[i]!, i);
    checkProbability("logLoss", prob[i]!, i);
    const p = Math.min(Math.max(prob[i]!, eps), 1 - eps);
    sum -= yTrue[i] === 1 ? Math.log(p) : Math.log1p(-p);
  }
  return sum / n;
}

/** Root mean squared error. */
export function rmse(y: Values, yhat: Values): number {
  const n = checkPair("rmse", y, yhat);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    checkFinite("rmse", "label", y[i]!, i);
    checkFinite("rmse", "prediction", yhat[i]!, i);
    const e = y[i]! - yhat[i]!;
    sum += e * e;
  }
  return Math.sqrt(sum / n);
}

/** Mean absolute error. */
export function mae(y: Values, yhat: Values): number {
  const n = checkPair("mae", y, yhat);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    checkFinite("mae", "label", y[i]!, i);
    checkFinite("mae", "prediction", yhat[i]!, i);
    sum += Math.abs(y[i]! - yhat[i]!);
  }
  return sum / n;
}

function checkPair(metric: string, a: Values, b: Values): number {
  if (a.length !== b.length) {
    throw MlopsError.of(metric, "needs one prediction per label", { labels: a.length, predictions: b.length }, "Score every holdout row exactly once.");
  }
  if (a.length === 0) throw MlopsError.of(metric, "is undefined on no rows", 0, "Evaluate on a non-empty holdout.");
  return a.length;
}

function checkLabel(metric: string, v: number, i: number): void {
  if (v !== 0 && v !== 1) {
    throw MlopsError.of(`${metric}: label[${i}]`, "must be 0 or 1", v, "Encode the label column as 0/1 for classification, or use task: regression.");
  }
}

function checkProbability(metric: string, v: number, i: number): void {
  if (!(v >= 0 && v <= 1)) {
    throw MlopsError.of(`${metric}: prediction[${i}]`, "must be a probability in [0, 1]", v, "Make the model output the probability of class 1.");
  }
}

function checkFinite(metric: string, what: string, v: number, i: number): void {
  if (!Number.isFinite(v)) {
    throw MlopsError.of(`${metric}: ${what}[${i}]`, "must be a finite number", v, "Check the model for NaN or infinite outputs and the data for missing values.");
  }
}
