/**
 * In-process routing between the stable version and a canary, and mirroring to a shadow (no mesh, no
 * Knative). Per infer request:
 *
 * - A canary gets `weight` percent of the requests, and only while it is loaded: until its holder has a
 *   version in (and after a rollback or a promotion) every request goes to stable, so no client ever waits
 *   on, or is refused by, a canary that is not ready. Which requests: by a hash of `x-request-id` (the
 *   same id always lands on the same variant; requests without one are drawn at random), or at random.
 *   A request that names a version (`/versions/{v}/infer`) is served by that version, never split.
 * - A canary request the canary fails (any non-2xx answer) is run again on stable and the client gets
 *   stable's answer: a bad canary costs its requests some latency, never an error. Such a fallback is a
 *   canary error for the analysis when stable answered it successfully (mlops_canary_fallbacks_total); when
 *   stable refuses it too, the request was the client's mistake, not the canary's.
 * - A shadow gets a `sampleRate` share of the stable requests, mirrored once stable's answer is written:
 *   its answer is compared with stable's (mlops_shadow_requests_total by result; disagreements logged with
 *   both outputs) and discarded. It never delays the client; at most `maxInFlight` mirrors run at once.
 *
 * Each variant's own metrics (mlops_requests_total, mlops_request_duration_seconds, mlops_batch_size) carry
 * `variant="canary"` or `"shadow"` from its holder (holder.ts), stable's `"stable"`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../../../src/log.js";
import type { CanarySpec, ShadowSpec } from "../../../src/spec/endpoint-variants.js";
import type { ModelHolder, ServingVersion } from "../holder.js";
import { infer } from "../routes/infer.js";
import type { Reply, RouteContext } from "../routes/reply.js";
import { compareReplies, type Comparison } from "./compare.js";
import type { ShadowResult, VariantMetrics } from "./metrics.js";
import { capturing, collectBody, detachedResponse, replayRequest } from "./replay.js";

export interface RouterOptions {
  readonly model: string;
  readonly canary?: { readonly holder: ModelHolder; readonly spec: CanarySpec };
  readonly shadow?: { readonly holder: ModelHolder; readonly spec: ShadowSpec };
  readonly metrics: VariantMetrics;
  readonly logger: Logger;
  /** @default Math.random */
  readonly random?: () => number;
}

/** FNV-1a of a string, 32 bits: the same request id always picks the same bucket. */
export function hashBucket(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) % 10_000) / 100;
}

export class VariantRouter {
  private canaryWeight = 0;
  private shadowInFlight = 0;
  private lastDisagreementLog = 0;
  private readonly random: () => number;

  constructor(private readonly o: RouterOptions) {
    this.random = o.random ?? Math.random;
  }

  /** The canary's share of requests (percent), as the rollout (rollout.ts) sets it. */
  get weight(): number {
    return this.canaryWeight;
  }

  set weight(w: number) {
    this.canaryWeight = Math.max(0, Math.min(100, w));
    this.publishWeight();
  }

  /** Mirrored requests still running on the shadow. */
  get shadowsInFlight(): number {
    return this.shadowInFlight;
  }

  /** The weight actually applied: 0 while the canary is not loaded. */
  get effectiveWeight(): number {
    return this.o.canary?.holder.serving === undefined ? 0 : this.canaryWeight;
  }

  /** Refreshes the weight gauge (the canary may have just finished loading). */
  publishWeight(): void {
    this.o.metrics.weight.set({ model: this.o.model }, this.effectiveWeight);
  }

  /** True when this request goes to the canary. */
  pickCanary(req: IncomingMessage): boolean {
    const w = this.canaryWeight;
    if (w <= 0) return false;
    if (w >= 100) return true;
    const id = this.o.canary!.spec.routing === "hash" ? req.headers["x-request-id"] : undefined;
    return (typeof id === "string" && id !== "" ? hashBucket(id) : this.random() * 100) < w;
  }

  /** Answers one infer request on `stable` or a variant; `pinned`: the path named a version. */
  infer(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, stable: ServingVersion, started: number, pinned: boolean): void {
    const canary = this.o.canary?.holder.serving;
    if (!pinned && canary !== undefined && this.pickCanary(req)) {
      this.viaCanary(ctx, req, res, stable, canary, started);
      return;
    }
    const shadow = this.o.shadow;
    if (shadow !== undefined && shadow.spec.sampleRate > 0 && this.random() < shadow.spec.sampleRate) {
      const serving = shadow.holder.serving;
      if (serving !== undefined && this.shadowInFlight < shadow.spec.maxInFlight) {
        this.withShadow(ctx, req, res, stable, serving, started);
        return;
      }
      this.o.metrics.shadow.inc({ model: this.o.model, result: serving === undefined ? "skipped" : "dropped" });
    }
    infer(ctx, req, res, stable, started);
  }

  private viaCanary(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, stable: ServingVersion, canary: ServingVersion, started: number): void {
    hold(canary, res);
    const body = collectBody(req, ctx.maxBodyBytes);
    const onCanary = (reply: Reply): void => {
      if (reply.status < 300) {
        ctx.send(res, reply);
        return;
      }
      void body.then((bytes) => {
        if (bytes === undefined || res.writableEnded || res.destroyed) {
          if (!res.headersSent && !res.destroyed) ctx.send(res, reply);
          return;
        }
        const onStable = (r: Reply): void => {
          if (r.status < 300) this.o.metrics.fallbacks.inc({ model: this.o.model });
        };
        infer(capturing(ctx, onStable, { forward: true }), replayRequest(req, bytes), res, stable, performance.now());
      });
    };
    infer(capturing(ctx, onCanary), req, detachedResponse(), canary, started);
  }

  private withShadow(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, stable: ServingVersion, shadow: ServingVersion, started: number): void {
    this.shadowInFlight++;
    const body = collectBody(req, ctx.maxBodyBytes);
    const onStable = (stableReply: Reply): void => {
      void body.then((bytes) => {
        if (bytes === undefined || stableReply.status >= 300) {
          this.shadowDone("skipped");
          return;
        }
        // After the client's answer is on its way; the shadow's answer goes nowhere but the comparison.
        setImmediate(() => this.mirror(ctx, req, bytes, shadow, stableReply));
      });
    };
    infer(capturing(ctx, onStable, { forward: true }), req, res, stable, started);
  }

  private mirror(ctx: RouteContext, req: IncomingMessage, bytes: Buffer, shadow: ServingVersion, stableReply: Reply): void {
    shadow.model.acquire();
    const onShadow = (reply: Reply): void => {
      shadow.model.release();
      compareReplies(stableReply, reply).then(
        (c) => {
          this.shadowDone(c.result);
          if (c.result !== "agree") this.logDisagreement(shadow, c, req);
        },
        () => this.shadowDone("skipped"),
      );
    };
    infer(capturing(ctx, onShadow, { noPayloadLog: true }), replayRequest(req, bytes), detachedResponse(), shadow, performance.now());
  }

  private shadowDone(result: ShadowResult): void {
    this.shadowInFlight--;
    this.o.metrics.shadow.inc({ model: this.o.model, result });
  }

  /** Both answers of a disagreement, at most one log line a second. */
  private logDisagreement(shadow: ServingVersion, c: Comparison, req: IncomingMessage): void {
    if (c.result === "skipped") return;
    const now = Date.now();
    if (now - this.lastDisagreementLog < 1000) return;
    this.lastDisagreementLog = now;
    const id = req.headers["x-request-id"];
    this.o.logger.info("shadow answer differs from stable's (discarded; further ones within a second are counted, not logged)", {
      model: this.o.model,
      shadowVersion: shadow.model.versionString,
      result: c.result,
      detail: c.detail,
      stable: c.stable,
      shadow: c.shadow,
      ...(typeof id === "string" ? { requestId: id.slice(0, 100) } : {}),
    });
  }
}

/** Keeps `serving` alive until the client's response is done (an alias move meanwhile retires it). */
function hold(serving: ServingVersion, res: ServerResponse): void {
  serving.model.acquire();
  let held = true;
  res.on("close", () => {
    if (held) serving.model.release();
    held = false;
  });
}
