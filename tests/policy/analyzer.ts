/**
 * Talks to a policy pack the way the Pulumi engine does: starts it, reads the port it prints, and calls the
 * analyzer's gRPC methods with @pulumi/pulumi's own protocol classes (and the grpc-js and google-protobuf
 * copies it uses).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js");
export const analyzerProto = require("@pulumi/pulumi/proto/analyzer_pb.js");
const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi"));
const { Struct } = pulumiRequire("google-protobuf/google/protobuf/struct_pb.js");
const { Empty } = pulumiRequire("google-protobuf/google/protobuf/empty_pb.js");
const grpc = pulumiRequire("@grpc/grpc-js");

export interface Diagnostic {
  readonly policy: string;
  readonly pack: string;
  readonly message: string;
}

export interface RunningPack {
  info(): Promise<{ name: string; version: string; policies: string[] }>;
  analyze(type: string, urn: string, props: Record<string, unknown>): Promise<Diagnostic[]>;
  stop(): void;
}

/** Starts `node <args>` in `cwd` (the pack's folder) and connects once it prints its port. */
export async function startPack(args: string[], cwd: string): Promise<RunningPack> {
  const child: ChildProcess = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`the pack exited ${code}: ${stderr}`)));
  });
  const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = <T>(method: string, req: unknown): Promise<T> =>
    new Promise((resolve, reject) => client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
  return {
    async info() {
      const res = await call<any>("getAnalyzerInfo", new Empty());
      return { name: res.getName(), version: res.getVersion(), policies: res.getPoliciesList().map((p: any) => p.getName()) };
    },
    async analyze(type, urn, props) {
      const req = new analyzerProto.AnalyzeRequest();
      req.setType(type);
      req.setUrn(urn);
      req.setName(urn.split("::").pop());
      req.setProperties(Struct.fromJavaScript(props));
      req.setOptions(new analyzerProto.AnalyzerResourceOptions());
      const res = await call<any>("analyze", req);
      return res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), pack: d.getPolicypackname(), message: d.getMessage() }));
    },
    stop() {
      client.close();
      child.kill();
    },
  };
}
