// The training runtime's public entry point re-exports run tracking (run records, the metrics file, the
// MLflow tracking server) and the Pushgateway push, as it does every other part of `mlops train`.
import { describe, expect, test } from "vitest";
import * as train from "../../../runtime/train/index.js";
import { startTrackingServer } from "../../../runtime/train/mlflow/server.js";
import { MlflowApiError, TrackingApi } from "../../../runtime/train/mlflow/api.js";
import { METRICS_FILE_ENV, parseMetricsLines, readMetricsFile } from "../../../runtime/train/metrics-file.js";
import { checkPushgatewayUrl, PUSHGATEWAY_ENV, pushTrainMetrics, TRAIN_JOB } from "../../../runtime/train/push.js";
import { gateChecks, MLFLOW_TRACKING_URI_ENV, RunTracker, specParams } from "../../../runtime/train/runs.js";

describe("runtime/train/index.ts", () => {
  test("re-exports run tracking, the metrics file, the MLflow tracking server and the push, as the modules define them", () => {
    expect({ ...train }).toMatchObject({
      RunTracker,
      specParams,
      gateChecks,
      MLFLOW_TRACKING_URI_ENV,
      METRICS_FILE_ENV,
      parseMetricsLines,
      readMetricsFile,
      pushTrainMetrics,
      checkPushgatewayUrl,
      PUSHGATEWAY_ENV,
      TRAIN_JOB,
      startTrackingServer,
      TrackingApi,
      MlflowApiError,
    });
  });

  test("the re-exported values are the ones the runtime reads", () => {
    expect(train.PUSHGATEWAY_ENV).toBe("MLOPS_PUSHGATEWAY");
    expect(train.MLFLOW_TRACKING_URI_ENV).toBe("MLFLOW_TRACKING_URI");
    expect(train.TRAIN_JOB).toBe("mlops_train");
  });
});
