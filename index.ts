/**
 * pulumi-mlops: production machine learning as Pulumi components.
 *
 * @example
 * import * as mlops from "pulumi-mlops";
 * const registry = new mlops.ModelRegistry("models", { storage: { s3: {} } });
 */
export * from "./components/index.js";
export { MlopsError, NotFoundError } from "./src/errors.js";
export { parseModelRef, formatModelRef, type ModelRef } from "./src/spec/model-ref.js";
export {
  EndpointSpecSchema,
  parseEndpointSpec,
  renderEndpointSpec,
  ENDPOINT_SPEC_ENV,
  SERVE_PATHS,
  type EndpointSpec,
  type EndpointSpecInput,
} from "./src/spec/endpoint.js";
export { TrainSpecSchema, parseTrainSpec, renderTrainSpec, TRAIN_SPEC_ENV, type TrainSpec, type TrainSpecInput } from "./src/spec/train.js";
