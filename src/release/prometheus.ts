import { MlopsError } from "../errors.js";

/** One series of an instant query's answer: its labels and its value (NaN stays NaN). */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A Prometheus duration as PromQL writes it: `30s`, `5m`, `1h`, `1h30m`, `7d`. */
export const PROMETHEUS_DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** Longest wait for Prometheus to answer one query. */
export const PROMETHEUS_TIMEOUT_MS = 10_000;

/**
 * Runs an instant query through Prometheus's HTTP API (`GET <base>/api/v1/query?query=…`) and returns
 * the samples of a `vector` or `scalar` answer. The API answers `{"status":"success","data":{"resultType",
 * "result"}}`, or `{"status":"error","errorType","error"}` (with a 4xx/5xx status): the latter, a network
 * failure or an answer of another shape throws an MlopsError that says which.
 */
export async function queryPrometheus(base: string, query: string, opts: { readonly timeoutMs?: number } = {}): Promise<Sample[]> {
  let url: URL;
  try {
    url = new URL("api/v1/query", base.endsWith("/") ? base : `${base}/`);
  } catch {
    throw MlopsError.of("--prometheus", "is not a URL", base, "Give Prometheus's base URL, e.g. http://prometheus.monitoring:9090.");
  }
  url.searchParams.set("query", query);
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(opts.timeoutMs ?? PROMETHEUS_TIMEOUT_MS) });
  } catch (err) {
    const c = (err as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? (err as Error).message;
    throw new MlopsError(`Prometheus at ${base} cannot be reached (${cause}). Check --prometheus (and that this machine can reach it).`);
  }
  const text = await res.text();
  let body: { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new MlopsError(`Prometheus at ${base} answered HTTP ${res.status} with something that is not the query API's JSON (${JSON.stringify(text.slice(0, 80))}). Check that --prometheus is Prometheus's base URL.`);
  }
  if (body.status !== "success") {
    throw new MlopsError(`Prometheus rejected the query ${JSON.stringify(query)}: ${body.errorType ?? `HTTP ${res.status}`}: ${body.error ?? "no reason given"}.`);
  }
  const { resultType, result } = body.data ?? {};
  if (resultType === "scalar" && Array.isArray(result)) return [{ labels: {}, value: Number(result[1]) }];
  if (resultType === "vector" && Array.isArray(result)) {
    return result.map((r: { metric?: Record<string, string>; value?: [number, string] }) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
  }
  throw new MlopsError(`Prometheus answered the query ${JSON.stringify(query)} with a ${String(resultType)}; an SLO query must give one number per series (an instant vector or a scalar, not a range [..] selector on its own).`);
}
