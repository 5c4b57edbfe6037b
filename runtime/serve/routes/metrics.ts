/** `GET /metrics`: the app's own Prometheus registry, in the text exposition format. */
import type { Reply, RouteContext } from "./reply.js";

export function scrape(ctx: RouteContext): Promise<Reply> {
  return ctx.metrics.metrics().then((body) => ({ status: 200, body, headers: { "content-type": ctx.metrics.contentType } }));
}
