/**
 * A serving process for the shutdown tests: `node --import tsx child-server.ts <spec JSON | --env>`. Listens on a
 * free port with the production signal handling, prints `{"url": …}` on stdout once listening, and at
 * exit prints how many requests the server accepted (`started`: requests Node's HTTP parser handed to the
 * server, its `http.server.request.start` diagnostics channel) and how many responses it finished, by
 * status (`http.server.response.finish`), so nothing in the app under test is touched.
 */
import { subscribe } from "node:diagnostics_channel";
import { writeSync } from "node:fs";
import { runFromEnv, startServer } from "../../../runtime/serve/main.js";
import { parseEndpointSpec } from "../../../src/spec/endpoint.js";
import { createLogger } from "../../../src/log.js";

const finished: Record<string, number> = {};
let started = 0;
subscribe("http.server.request.start", () => void started++);
subscribe("http.server.response.finish", (msg) => {
  const code = String((msg as { response: { statusCode: number } }).response.statusCode);
  finished[code] = (finished[code] ?? 0) + 1;
});
process.on("exit", () => writeSync(1, JSON.stringify({ finished, started }) + "\n"));

// `--env`: the container boot path, everything from the environment; otherwise the spec is argv[2].
const server =
  process.argv[2] === "--env"
    ? await runFromEnv(process.env)
    : await (async () => {
        const spec = parseEndpointSpec(JSON.parse(process.argv[2]!));
        const opts = { handleSignals: true, logger: createLogger({ json: true }) };
        return startServer({ ...spec, server: { ...spec.server, port: 0 } }, opts);
      })();
writeSync(1, JSON.stringify({ url: server.url }) + "\n");
