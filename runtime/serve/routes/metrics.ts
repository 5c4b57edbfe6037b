/** `GET /metrics`: the app's own Prometheus registry in the text exposition format, from the render cache. */
import type { ExpositionCache } from "../metrics.js";
import type { Reply } from "./reply.js";

export function scrape(cache: ExpositionCache): Promise<Reply> {
  return cache.render().then((body) => ({ status: 200, body, headers: { "content-type": cache.contentType } }));
}
