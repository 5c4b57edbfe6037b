/**
 * Variants of an endpoint (spec `variants`, src/spec/endpoint-variants.ts): a canary and/or a shadow
 * beside the stable model, each in a holder of its own (loaded in the background, retried, followed like
 * the stable one), a router that splits and mirrors infer requests (router.ts), and for a canary the
 * rollout that judges it and follows the state in the registry (rollout.ts, analysis.ts).
 */
import { MlopsError } from "../../../src/errors.js";
import type { Logger } from "../../../src/log.js";
import type { EndpointSpec } from "../../../src/spec/endpoint.js";
import { parseModelRef } from "../../../src/spec/model-ref.js";
import { ModelHolder, type HolderOptions } from "../holder.js";
import type { ServeMetrics } from "../metrics.js";
import { LocalMetricsSource, type AnalysisSource } from "./analysis.js";
import { createVariantMetrics, type VariantMetrics } from "./metrics.js";
import { PrometheusAnalysisSource } from "./prometheus.js";
import { RolloutRunner, type RolloutBackend } from "./rollout.js";
import { VariantRouter } from "./router.js";

export { VariantRouter } from "./router.js";
export { RolloutRunner, type RolloutBackend } from "./rollout.js";
export { PrometheusAnalysisSource } from "./prometheus.js";
export { LocalMetricsSource, judge, quantile, type AnalysisSource, type AnalysisWindow, type VariantNumbers, type Verdict } from "./analysis.js";

export interface VariantDeps {
  readonly spec: EndpointSpec;
  readonly stable: ModelHolder;
  /** The stable holder's options, reused for the variants' holders (source, batching, retry). */
  readonly holderOptions: HolderOptions;
  readonly metrics: ServeMetrics;
  readonly logger: Logger;
  /** The registry's store and alias moves; needed for a canary. */
  readonly backend?: RolloutBackend;
  /** Where the analysis reads its numbers. @default LocalMetricsSource (this process's metrics) */
  readonly analysisSource?: AnalysisSource;
  /** For routing and shadow sampling. @default Math.random */
  readonly random?: () => number;
}

export interface Variants {
  readonly router: VariantRouter;
  readonly canary?: ModelHolder;
  readonly shadow?: ModelHolder;
  readonly rollout?: RolloutRunner;
  readonly metrics: VariantMetrics;
  close(): void;
}

/** True when `x` can hold rollout state and move aliases (a `Registry` can). */
export function isRolloutBackend(x: unknown): x is RolloutBackend {
  const r = x as Partial<RolloutBackend> | undefined;
  return typeof r?.setAlias === "function" && typeof r.store?.putIfAbsent === "function";
}

/** The spec's Prometheus when it names one, else this process's own metrics. */
function analysisSource(d: VariantDeps, metrics: VariantMetrics, model: string): AnalysisSource {
  const p = d.spec.variants?.canary?.analysis.prometheus;
  if (!p) return new LocalMetricsSource(d.metrics, metrics, model);
  return new PrometheusAnalysisSource({ url: p.url, model, timeoutSeconds: p.timeoutSeconds, ...(p.selector ? { selector: p.selector } : {}) });
}

/** Starts the variants of `spec` (undefined when it has none). */
export function openVariants(d: VariantDeps): Variants | undefined {
  const v = d.spec.variants;
  if (!v || (!v.canary && !v.shadow)) return undefined;
  if (v.canary && !d.backend) {
    throw MlopsError.of("variants.canary", "needs a registry whose state the replicas can share (its object store) and whose alias it can move", d.spec.registry, "Serve from a Registry (file:// or s3://), as mlops serve does.");
  }
  const stableRef = parseModelRef(d.spec.model);
  const metrics = createVariantMetrics(d.metrics.registry, stableRef.name);
  const holder = (ref: string, variant: "canary" | "shadow") => ModelHolder.start({ ...d.holderOptions, ref, variant });
  const canary = v.canary ? holder(v.canary.model, "canary") : undefined;
  const shadow = v.shadow ? holder(v.shadow.model, "shadow") : undefined;
  const router = new VariantRouter({
    model: stableRef.name,
    metrics,
    logger: d.logger,
    ...(canary ? { canary: { holder: canary, spec: v.canary! } } : {}),
    ...(shadow ? { shadow: { holder: shadow, spec: v.shadow! } } : {}),
    ...(d.random ? { random: d.random } : {}),
  });
  const rollout = canary
    ? new RolloutRunner({
        backend: d.backend!,
        stableRef,
        stable: d.stable,
        canary,
        spec: v.canary!,
        router,
        source: d.analysisSource ?? analysisSource(d, metrics, stableRef.name),
        metrics,
        logger: d.logger,
        pollSeconds: d.spec.pollIntervalSeconds,
      })
    : undefined;
  rollout?.start();
  return {
    router,
    metrics,
    ...(canary ? { canary } : {}),
    ...(shadow ? { shadow } : {}),
    ...(rollout ? { rollout } : {}),
    close() {
      rollout?.close();
      canary?.close();
      shadow?.close();
    },
  };
}
