import { describe, expect, it } from "vitest";
import { ENDPOINT_SPEC_ENV, endpointSpecFromEnv, parseEndpointSpec, renderEndpointSpec } from "../../../src/spec/endpoint.js";
import { parseTrainSpec } from "../../../src/spec/train.js";
import { parseModelRef } from "../../../src/spec/model-ref.js";
import { MlopsError } from "../../../src/errors.js";

const minimal = { name: "fraud", model: "fraud@champion", registry: "s3://models/prod" };

describe("EndpointSpec", () => {
  it("fills the documented defaults", () => {
    const spec = parseEndpointSpec(minimal);
    expect(spec.server).toEqual({
      host: "0.0.0.0",
      port: 8080,
      maxBodyBytes: 4 * 1024 * 1024,
      maxResponseBytes: 16 * 1024 * 1024,
      shutdownDelaySeconds: 5,
      drainSeconds: 30,
      headersTimeoutSeconds: 10,
      requestTimeoutSeconds: 30,
      keepAliveTimeoutSeconds: 65,
      maxConnections: 4096,
    });
    expect(spec.batching).toEqual({ maxBatchSize: 32, maxBatchDelayMs: 2 });
    expect(spec.auth.enabled).toBe(false);
  });

  it("round-trips through the environment as the component renders it", () => {
    const env = { [ENDPOINT_SPEC_ENV]: renderEndpointSpec({ ...minimal, batching: { maxBatchSize: 8 } }) };
    expect(endpointSpecFromEnv(env).batching.maxBatchSize).toBe(8);
  });

  it("fails at boot naming every bad field with the value received", () => {
    const env = { [ENDPOINT_SPEC_ENV]: JSON.stringify({ ...minimal, model: "fraud", server: { port: 70000 } }) };
    const err = (() => {
      try {
        endpointSpecFromEnv(env);
      } catch (e) {
        return e as MlopsError;
      }
      throw new Error("expected failure");
    })();
    expect(err).toBeInstanceOf(MlopsError);
    expect(err.problems.map((p) => p.split(":")[0])).toEqual(["model", "server.port"]);
    expect(err.message).toContain("70000");
  });

  it("fails when the variable is missing or not JSON", () => {
    expect(() => endpointSpecFromEnv({})).toThrow(ENDPOINT_SPEC_ENV);
    expect(() => endpointSpecFromEnv({ [ENDPOINT_SPEC_ENV]: "{not json" })).toThrow(/not valid JSON/);
  });

  it("fails on unknown fields instead of ignoring a typo", () => {
    expect(() => parseEndpointSpec({ ...minimal, batchig: {} })).toThrow(/batchig/);
  });
});

describe("TrainSpec", () => {
  const train = { name: "t", registry: "file:///r", model: "m", dataset: { uri: "file:///d.csv", label: "y" }, trainer: { builtin: "logistic-regression" } };
  it("moves the challenger alias by default", () => {
    expect(parseTrainSpec(train).alias).toBe("challenger");
  });
  it("fails when the trainer is neither builtin nor a command", () => {
    expect(() => parseTrainSpec({ ...train, trainer: { script: "x.py" } })).toThrow(MlopsError);
  });
  it("names the shapes to choose from when the trainer matches neither", () => {
    expect(() => parseTrainSpec({ ...train, trainer: {} })).toThrow(/trainer: must be \{ builtin: "logistic-regression" \} or \{ command: \["python3", "train.py"\] \}/);
  });
  it("names the bad field of the trainer that was meant", () => {
    expect(() => parseTrainSpec({ ...train, trainer: { builtin: "xgboost" } })).toThrow(/trainer\.builtin: .*received "xgboost"\. Use one of: "logistic-regression"/);
    expect(() => parseTrainSpec({ ...train, trainer: { command: "python train.py" } })).toThrow(/trainer\.command: .*expected array.*Give an array/);
  });
  it("fails when a lower-is-better metric is given a minimum", () => {
    expect(() => parseTrainSpec({ ...train, gate: { minimum: { logLoss: 0.3 } } })).toThrow(/gate\.minimum\.logLoss: is a lower-is-better metric.*move it to gate\.maximum/);
  });
  it("fails when a higher-is-better metric is given a maximum", () => {
    expect(() => parseTrainSpec({ ...train, gate: { maximum: { auc: 0.99 } } })).toThrow(/gate\.maximum\.auc: is a higher-is-better metric.*move it to gate\.minimum/);
  });
  it("refuses a model no better than a constant predictor by default", () => {
    expect(parseTrainSpec(train).gate.beatConstant).toBe(true);
  });
});

describe("parseModelRef", () => {
  it("reads name@alias and name:version", () => {
    expect(parseModelRef("fraud@champion")).toEqual({ name: "fraud", alias: "champion" });
    expect(parseModelRef("fraud:12")).toEqual({ name: "fraud", version: 12 });
  });
  it("fails on anything else, with the accepted forms", () => {
    for (const bad of ["fraud", "fraud@", "fraud:0", "Fraud@x", "a@b:1", "fraud@1x"]) {
      expect(() => parseModelRef(bad), bad).toThrow(/name>@<alias>/);
    }
  });
});
