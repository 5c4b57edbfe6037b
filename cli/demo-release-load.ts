import { Agent, request } from "node:http";
import { seededRandom } from "../src/random.js";

/** Requests in flight at once, and rows per request. */
const CONCURRENCY = 4;
const ROWS = 5;

/**
 * The release phase's client: {@link CONCURRENCY} keep-alive connections sending real infer requests (rows of
 * the example data) back to back until stopped, counting every answer by the version that gave it and
 * every failure (a status other than 200, or a connection error) with its reason.
 */
export class ClientLoop {
  /** Requests answered (or failed) so far. */
  sent = 0;
  readonly failures: string[] = [];
  readonly byVersion: Record<string, number> = {};
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  private readonly random = seededRandom(20261202);

  constructor(
    private readonly url: string,
    private readonly rows: readonly number[][],
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: CONCURRENCY }, () => this.worker());
  }

  /** No new request after this; {@link done} resolves once those in flight are answered. */
  stop(): void {
    this.running = false;
  }

  async done(): Promise<void> {
    await Promise.all(this.workers);
    this.agent.destroy();
  }

  private async worker(): Promise<void> {
    while (this.running) {
      const failure = await this.one();
      this.sent++;
      if (failure !== undefined) this.failures.push(failure);
    }
  }

  /** One request: undefined when it was answered with 200, else why not. */
  private one(): Promise<string | undefined> {
    const data = Array.from({ length: ROWS }, () => this.rows[Math.floor(this.random() * this.rows.length)]!);
    const body = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [ROWS, data[0]!.length], data }] });
    return new Promise((resolve) => {
      const req = request(this.url, { method: "POST", agent: this.agent, headers: { "content-type": "application/json" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => resolve(`response error: ${e.message}`));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) return resolve(`status ${res.statusCode}: ${text.slice(0, 200)}`);
          try {
            const version = String((JSON.parse(text) as { model_version?: string }).model_version ?? "");
            this.byVersion[version] = (this.byVersion[version] ?? 0) + 1;
            resolve(undefined);
          } catch {
            resolve(`status 200 with a body that is not JSON: ${text.slice(0, 200)}`);
          }
        });
      });
      req.on("error", (e) => resolve(`request error: ${e.message}`));
      req.end(body);
    });
  }
}
