/**
 * A stand-in for Prometheus's HTTP API on 127.0.0.1 (random port): `GET /api/v1/query?query=…` answered
 * with the API's own envelope (https://prometheus.io/docs/prometheus/latest/querying/api/), the answer
 * chosen per query by the test. Every query received is recorded.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type PromAnswer =
  | { readonly vector: readonly { readonly metric?: Record<string, string>; readonly value: string }[] }
  | { readonly scalar: string }
  | { readonly matrix: true }
  | { readonly error: string; readonly errorType: string; readonly status: number };

export interface FakePrometheus {
  readonly url: string;
  readonly queries: string[];
  answer: (query: string) => PromAnswer;
  close(): Promise<void>;
}

export async function fakePrometheus(answer: (query: string) => PromAnswer): Promise<FakePrometheus> {
  const queries: string[] = [];
  const fake = { queries, answer } as FakePrometheus & { answer: (q: string) => PromAnswer };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "GET" || url.pathname !== "/api/v1/query") return send(404, { status: "error", errorType: "not_found", error: "not found" });
    const query = url.searchParams.get("query") ?? "";
    queries.push(query);
    const now = Date.now() / 1000;
    const a = fake.answer(query);
    if ("error" in a) return send(a.status, { status: "error", errorType: a.errorType, error: a.error });
    if ("scalar" in a) return send(200, { status: "success", data: { resultType: "scalar", result: [now, a.scalar] } });
    if ("matrix" in a) return send(200, { status: "success", data: { resultType: "matrix", result: [{ metric: {}, values: [[now, "1"]] }] } });
    send(200, { status: "success", data: { resultType: "vector", result: a.vector.map((v) => ({ metric: v.metric ?? {}, value: [now, v.value] })) } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
