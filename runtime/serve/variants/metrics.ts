/**
 * What the variants add to `mlops serve`'s registry, beside the `variant` label every request, latency and
 * batch metric carries (metrics.ts): the canary's weight and phase, the canary requests stable answered
 * after the canary failed (fallbacks), the analyses, and what became of each mirrored shadow request.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { CanaryPhase } from "../../../src/registry/rollouts.js";

export const CANARY_PHASES: readonly CanaryPhase[] = ["progressing", "waiting", "promoted", "rolled-back"];
/** `agree`/`disagree`: both answered 2xx and the outputs matched (or not); `shadow_error`: stable answered 2xx, the shadow did not; `skipped`: stable failed, or an answer was not JSON; `dropped`: too many in flight. */
export const SHADOW_RESULTS = ["agree", "disagree", "shadow_error", "skipped", "dropped"] as const;
export type ShadowResult = (typeof SHADOW_RESULTS)[number];
export const ANALYSIS_RESULTS = ["pass", "fail", "inconclusive"] as const;

export interface VariantMetrics {
  readonly weight: Gauge<"model">;
  readonly phase: Gauge<"model" | "phase">;
  readonly fallbacks: Counter<"model">;
  readonly analyses: Counter<"model" | "result">;
  readonly shadow: Counter<"model" | "result">;
}

export function createVariantMetrics(registry: Registry, model: string): VariantMetrics {
  const registers = [registry];
  const m: VariantMetrics = {
    weight: new Gauge({ name: "mlops_canary_weight_percent", help: "Share of infer requests (percent) routed to the canary now; 0 while it is not loaded and ready, and once rolled back or promoted.", labelNames: ["model"], registers }),
    phase: new Gauge({ name: "mlops_canary_phase", help: "1 for the canary rollout's current phase (progressing, waiting, promoted, rolled-back), 0 for the others.", labelNames: ["model", "phase"], registers }),
    fallbacks: new Counter({ name: "mlops_canary_fallbacks_total", help: "Canary requests the canary failed and stable then answered successfully: the client got stable's answer; counted as canary errors by the analysis.", labelNames: ["model"], registers }),
    analyses: new Counter({ name: "mlops_canary_analyses_total", help: "Canary analyses by result: pass, fail, inconclusive (fewer canary requests than analysis.minRequests).", labelNames: ["model", "result"], registers }),
    shadow: new Counter({ name: "mlops_shadow_requests_total", help: "Mirrored shadow requests by result: agree, disagree (outputs differ from stable's), shadow_error, skipped, dropped (too many in flight).", labelNames: ["model", "result"], registers }),
  };
  // Zero-valued series from the start, so increase() sees the first of each.
  m.weight.set({ model }, 0);
  m.fallbacks.inc({ model }, 0);
  for (const phase of CANARY_PHASES) m.phase.set({ model, phase }, 0);
  for (const result of ANALYSIS_RESULTS) m.analyses.inc({ model, result }, 0);
  for (const result of SHADOW_RESULTS) m.shadow.inc({ model, result }, 0);
  return m;
}
