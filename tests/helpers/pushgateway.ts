/**
 * A real Pushgateway (Debian's prometheus-pushgateway) on a free 127.0.0.1 port, no persistence, for the
 * tests of what the runtime pushes (drift, training). Throws, naming the package, when it is missing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "../../src/net.js";

export interface TestPushgateway {
  readonly url: string;
  stop(): void;
  /** The gateway's exposition lines (`name{labels} value`) of the metrics whose names start with `prefix`. */
  lines(prefix: string): Promise<{ series: string; value: number }[]>;
}

export async function startPushgateway(): Promise<TestPushgateway> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn("prometheus-pushgateway", [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file="], { stdio: "ignore" });
  const failed = new Promise<never>((_, reject) =>
    child.once("error", (e) => reject(new Error(`cannot start prometheus-pushgateway (apt-get install -y prometheus-pushgateway): ${e.message}`))),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await Promise.race([fetch(`${url}/-/ready`).then((r) => r.ok, () => false), failed]);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`the Pushgateway at ${url} did not become ready`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () => void child.kill(),
    async lines(prefix) {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text
        .split("\n")
        .filter((l) => l.startsWith(prefix))
        .map((l) => {
          const at = l.lastIndexOf(" ");
          return { series: l.slice(0, at), value: Number(l.slice(at + 1)) };
        });
    },
  };
}
