/**
 * Serving by entity id (EndpointSpec `features`, src/spec/endpoint-features.ts). At boot the endpoint
 * opens the feature store's online store once (Redis with the AUTH token from the variable
 * `online.redis.passwordEnv` names, or the embedded LMDB store) and compiles the feature list; each model
 * version is checked against it as it loads (bind.ts); an infer request that sends the entity's join key
 * (an INT64 or BYTES tensor, shape [N] or [N, 1]) in place of the feature input gets its features looked
 * up (lookup.ts) and runs through the batcher like any other. A request with the model's own inputs is
 * untouched.
 *
 * The hooks elsewhere are small: app.ts opens and closes this, holder.ts binds each version (a version
 * that does not fit is not served), protocol.ts checks a request against the entity signature
 * (`ParseOptions.alternate`), routes/infer.ts resolves an entity call before submitting it, and model
 * metadata advertises the entity input in its `parameters`.
 */
import type { Registry as PromRegistry } from "prom-client";
import { silentLogger, type Logger } from "../../../src/log.js";
import { featureEntity, type EndpointFeatures } from "../../../src/spec/endpoint-features.js";
import { openOnlineStore } from "../../features/online/index.js";
import { PlanCache } from "../../features/online/request.js";
import type { OnlineStore } from "../../features/online/types.js";
import type { LoadedModel } from "../model.js";
import { bindModel, type BoundFeatures, type FeatureContext } from "./bind.js";
import { featureLookupMetrics } from "./metrics.js";

export type { BoundFeatures } from "./bind.js";
export { MISSING_STATUS } from "./lookup.js";

export interface FeatureInputOptions {
  /** The app's registry, for the lookup metrics. */
  readonly registry: PromRegistry;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Where the Redis password variable is read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The endpoint's feature store connection and compiled feature list, shared by every version it serves. */
export class FeatureInput {
  private constructor(private readonly ctx: FeatureContext) {}

  /** Opens the online store (Redis: a few connection attempts, then an MlopsError naming the URL, redacted). */
  static async open(cfg: EndpointFeatures, opts: FeatureInputOptions): Promise<FeatureInput> {
    const logger = opts.logger ?? silentLogger;
    const { entity, joinKey } = featureEntity(cfg);
    // Full names: two views may have features of one name; the plan is only ever read by position.
    const plan = new PlanCache(cfg.store).plan(cfg.features, true, "features.features");
    const metrics = featureLookupMetrics(opts.registry, plan.views.map((pv) => pv.view.name));
    const store: OnlineStore = await openOnlineStore(cfg.store, { logger, ...(opts.env ? { env: opts.env } : {}) });
    logger.info("feature store opened for serving by entity id", { store: cfg.store.name, online: store.kind, entity: entity.name, joinKey, features: cfg.features.length });
    return new FeatureInput({ cfg, store, plan, metrics, joinKey, keyType: entity.valueType });
  }

  /** Checks a loaded version against the features block (throws MlopsError) and binds it. */
  bind(model: LoadedModel): BoundFeatures {
    return bindModel(this.ctx, model);
  }

  async close(): Promise<void> {
    await this.ctx.store.close();
  }
}
