import { describe, expect, it } from "vitest";
import { parseDurationMs, parseWrk } from "../../../bench/serve/wrk.js";
import { failures, median, ratio, type Measured } from "../../../bench/serve/report.js";

// The layout wrk 4.1 (Debian) prints with --latency, including its error lines.
const report = (extra = ""): string => `Running 2s test @ http://127.0.0.1:40000/v2/models/m/infer
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.10us  101.20us   4.31ms   91.02%
    Req/Sec    78.40k     1.91k   81.02k    70.00%
  Latency Distribution
     50%  380.00us
     75%  431.00us
     90%  502.00us
     99%    1.22ms
  156012 requests in 2.00s, 30.80MB read
${extra}Requests/sec:  77990.53
Transfer/sec:     15.40MB
`;

describe("bench/serve wrk report", () => {
  it("reads requests/s, request count and percentiles in milliseconds", () => {
    const r = parseWrk(report());
    expect(r.requestsPerSec).toBe(77990.53);
    expect(r.requests).toBe(156012);
    expect(r.p50Ms).toBeCloseTo(0.38, 9);
    expect(r.p99Ms).toBeCloseTo(1.22, 9);
  });

  it("counts non-2xx responses and every kind of socket error", () => {
    const r = parseWrk(report("  Socket errors: connect 1, read 2, write 3, timeout 4\n  Non-2xx or 3xx responses: 7\n"));
    expect(r.socketErrors).toBe(10);
    expect(r.non2xx).toBe(7);
  });

  it("fails when wrk was run without --latency", () => {
    expect(() => parseWrk(report().replace(/ {5}\d\d%.*\n/g, ""))).toThrow(/--latency/);
  });

  it("converts each wrk time unit to milliseconds", () => {
    expect([parseDurationMs("250.00us"), parseDurationMs("3.5ms"), parseDurationMs("1.01s")]).toEqual([0.25, 3.5, 1010]);
  });
});

describe("bench/serve report", () => {
  const m = (key: string, rps: number, errs = 0): Measured => ({
    key,
    label: key,
    connections: 32,
    rowsPerRequest: 1,
    result: { ...parseWrk(report()), requestsPerSec: rps, non2xx: errs },
  });

  it("divides the numerator's requests/s by the denominator's", () => {
    expect(ratio({ name: "C/A", num: m("C", 30_000), den: m("A", 7_500), atLeast: 3 })).toBe(4);
  });

  it("reports a server that saw non-2xx responses as a failure", () => {
    expect(failures([m("A", 1), m("C", 1, 3)])).toEqual([expect.stringMatching(/^C: wrk saw 3 non-2xx/)]);
  });

  it("reports the median round of several, with every round's requests/s", () => {
    const m3 = median([m("C", 300), m("C", 100), m("C", 200)]);
    expect(m3.result!.requestsPerSec).toBe(200);
    expect(m3.perRound).toEqual([300, 100, 200]);
  });

  it("fails the whole server when any round saw errors", () => {
    expect(failures([median([m("C", 300), m("C", 100, 2)])])).toHaveLength(1);
  });
});
