// B: the HTTP ceiling of this machine. A bare node:http server that reads the request body and answers a
// fixed small JSON, doing no parsing and no inference. Usage: node bench/serve/bare.mjs <port>
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 8081);
const answer = Buffer.from(
  JSON.stringify({
    model_name: "bare",
    model_version: "1",
    outputs: [{ name: "probability", datatype: "FP32", shape: [1, 1], data: [0.5] }],
  }),
);

const server = createServer((req, res) => {
  // Drain the body as any POST handler must, then answer.
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1");
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
