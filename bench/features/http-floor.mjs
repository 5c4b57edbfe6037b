// The HTTP floor `npm run bench:features` holds the feature server's latency to: bare `node:http` reading
// each request body whole and answering the same bytes our server answers (captured from it before the
// run), with the same headers, and doing nothing else: no JSON parse, no Redis, no metrics. What is left
// between this and our server is the lookup; what is left between this and 1 ms is node and the machine.
//
//   node bench/features/http-floor.mjs <port> <answer file>
// Answers GET /health (for readiness) and anything else with the answer.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [portText, file] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port < 1 || !file) {
  console.error("usage: http-floor.mjs <port> <answer file>");
  process.exit(2);
}
const body = readFileSync(file);
const headers = ["content-length", String(body.length), "content-type", "application/json"];
const server = createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    if (req.url === "/health") {
      res.writeHead(200, ["content-length", "0"]);
      res.end();
      return;
    }
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
process.on("SIGINT", () => server.close(() => process.exit(0)));
