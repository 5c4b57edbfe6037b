/**
 * A retrain on drift: a Job made from the training CronJob's template as `kubectl create job --from`
 * makes it, created through a fake Kubernetes API server (HTTPS on 127.0.0.1 with its own CA, the way a
 * pod reaches the real one) that checks every request; the API's refusals named clearly without the
 * token; the calls made are exactly what MonitoringStack's onDrift Role grants; and no retrain is started
 * while one of the CronJob's Jobs runs or within the cooldown after the last drift-started one.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:https";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { INSTANTIATE_ANNOTATION, parseCronJobRef, retrainJobName, retrainLine, startRetrain } from "../../../runtime/drift/retrain.js";
import { retrainRoleManifest, type DriftContext } from "../../../components/monitoring-stack/drift.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-token-value";
const CRONJOB = {
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: { name: "fraud-train", namespace: "ml", uid: "0b9f6c1e-1111-2222-3333-444455556666", resourceVersion: "42" },
  spec: {
    schedule: "0 3 * * *",
    jobTemplate: {
      metadata: { labels: { "app.kubernetes.io/name": "fraud-train" }, annotations: { "team": "risk" } },
      spec: { backoffLimit: 2, template: { spec: { restartPolicy: "Never", containers: [{ name: "train", image: "mlops:1", args: ["train"] }] } } },
    },
  },
};

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body?: any;
}

let dir: string;
let saDir: string;
let server: Server;
let apiUrl: string;
let seen: Seen[] = [];
/** What the fake API answers the next requests with: "ok", or a refusal of the GET or the POST. */
let mode: "ok" | "forbid-get" | "forbid-create" | "forbid-list" | "missing" = "ok";
/** The Jobs the fake API lists in namespace ml, served `pageSize` per page with a continue token. */
let jobs: object[] = [];
let pageSize = 500;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-retrain-"));
  saDir = join(dir, "serviceaccount");
  await promisify(execFile)("sh", ["-c", `mkdir -p ${saDir} && openssl req -x509 -newkey rsa:2048 -nodes -keyout ${dir}/key.pem -out ${saDir}/ca.crt -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null`]);
  await writeFile(join(saDir, "token"), TOKEN + "\n");
  server = createServer({ key: await readFile(join(dir, "key.pem")), cert: await readFile(join(saDir, "ca.crt")) }, (req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      const s: Seen = { method: req.method!, path: req.url!, auth: req.headers.authorization, ...(text ? { body: JSON.parse(text) } : {}) };
      seen.push(s);
      const send = (code: number, body: unknown) => res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
      const status = (code: number, reason: string, message: string) => send(code, { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code });
      if (s.auth !== `Bearer ${TOKEN}`) return status(401, "Unauthorized", "Unauthorized");
      if (s.method === "GET" && s.path === "/apis/batch/v1/namespaces/ml/cronjobs/fraud-train") {
        if (mode === "forbid-get") return status(403, "Forbidden", 'cronjobs.batch "fraud-train" is forbidden: User "system:serviceaccount:monitoring:mlops-drift" cannot get resource "cronjobs" in API group "batch" in the namespace "ml"');
        if (mode === "missing") return status(404, "NotFound", 'cronjobs.batch "fraud-train" not found');
        return send(200, CRONJOB);
      }
      const list = /^\/apis\/batch\/v1\/namespaces\/ml\/jobs\?(.*)$/.exec(s.path);
      if (s.method === "GET" && list) {
        if (mode === "forbid-list") return status(403, "Forbidden", 'jobs.batch is forbidden: User "system:serviceaccount:monitoring:mlops-drift" cannot list resource "jobs" in API group "batch" in the namespace "ml"');
        const q = new URLSearchParams(list[1]);
        const limit = Math.min(Number(q.get("limit") ?? 500), pageSize);
        const from = Number(q.get("continue") ?? 0);
        const rest = from + limit < jobs.length ? String(from + limit) : undefined;
        return send(200, { kind: "JobList", apiVersion: "batch/v1", metadata: rest ? { continue: rest } : {}, items: jobs.slice(from, from + limit) });
      }
      if (s.method === "POST" && s.path === "/apis/batch/v1/namespaces/ml/jobs") {
        if (mode === "forbid-create") return status(403, "Forbidden", 'jobs.batch is forbidden: User "system:serviceaccount:monitoring:mlops-drift" cannot create resource "jobs" in API group "batch" in the namespace "ml"');
        return send(201, { ...s.body, metadata: { ...s.body.metadata, uid: "job-uid-1" } });
      }
      status(404, "NotFound", "the server could not find the requested resource");
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  apiUrl = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 60_000);
afterAll(async () => {
  server?.close();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: apiUrl.split(":").pop()! });

describe("startRetrain", () => {
  it("creates the Job kubectl create job --from=cronjob would, over TLS with the pod's CA and token", async () => {
    seen = [];
    mode = "ok";
    const now = new Date("2026-05-01T12:34:56Z");
    const job = await startRetrain(parseCronJobRef("ml/fraud-train"), { serviceAccountDir: saDir, env: env() }, now);
    expect(job).toEqual({ namespace: "ml", name: "fraud-train-drift-20260501123456", uid: "job-uid-1", cronJob: "fraud-train" });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /apis/batch/v1/namespaces/ml/cronjobs/fraud-train", "GET /apis/batch/v1/namespaces/ml/jobs?limit=500", "POST /apis/batch/v1/namespaces/ml/jobs"]);
    expect(seen.every((s) => s.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(seen[2]!.body).toEqual({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "fraud-train-drift-20260501123456",
        namespace: "ml",
        labels: { "app.kubernetes.io/name": "fraud-train" },
        annotations: { team: "risk", [INSTANTIATE_ANNOTATION]: "manual" },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "fraud-train", uid: CRONJOB.metadata.uid, controller: true }],
      },
      spec: CRONJOB.spec.jobTemplate.spec,
    });
  });

  it("keeps the Job's name within 63 characters", () => {
    const name = retrainJobName("a-very-long-training-cronjob-name-for-the-fraud-model-xyz", new Date("2026-05-01T12:34:56Z"));
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.endsWith("-drift-20260501123456")).toBe(true);
  });

  it("names a 403 on any call, the verb and the fix, never the token", async () => {
    for (const [m, what] of [["forbid-get", "could not get CronJob ml/fraud-train: 403 Forbidden"], ["forbid-list", "could not list Jobs in namespace ml: 403 Forbidden"], ["forbid-create", "could not create Job ml/fraud-train-drift-"]] as const) {
      mode = m;
      const err = await startRetrain(parseCronJobRef("ml/fraud-train"), { serviceAccountDir: saDir, env: env() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MlopsError);
      const msg = (err as Error).message;
      expect(msg).toContain(what);
      expect(msg).toContain("403 Forbidden");
      expect(msg).toContain("Grant the drift job's ServiceAccount get on that CronJob, and list and create on Jobs in its namespace");
      expect(msg).not.toContain(TOKEN);
      expect(msg).not.toContain("secret-token");
    }
  });

  it("names a CronJob that does not exist", async () => {
    mode = "missing";
    await expect(startRetrain(parseCronJobRef("ml/fraud-train"), { serviceAccountDir: saDir, env: env() })).rejects.toThrow(/could not get CronJob ml\/fraud-train: 404 Not Found \(cronjobs\.batch "fraud-train" not found\)\. Check the namespace and name/);
  });

  it("refuses a server whose certificate the pod's CA does not sign", async () => {
    mode = "ok";
    const other = join(dir, "other-sa");
    await promisify(execFile)("sh", ["-c", `mkdir -p ${other} && openssl req -x509 -newkey rsa:2048 -nodes -keyout ${dir}/k2.pem -out ${other}/ca.crt -days 1 -subj /CN=other 2>/dev/null && cp ${saDir}/token ${other}/token`]);
    const err = await startRetrain(parseCronJobRef("ml/fraud-train"), { serviceAccountDir: other, env: env() }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/did not answer .*trusts its CA/);
  });

  it("says what is missing outside a cluster", async () => {
    await expect(startRetrain(parseCronJobRef("ml/fraud-train"), { serviceAccountDir: saDir, env: {} })).rejects.toThrow(/KUBERNETES_SERVICE_HOST is not set.*--on-drift-train/);
    await expect(startRetrain(parseCronJobRef("ml/fraud-train"), { serviceAccountDir: join(dir, "none"), env: env() })).rejects.toThrow(/token.*cannot be read.*automountServiceAccountToken/);
    expect(() => parseCronJobRef("fraud-train")).toThrow(/--retrain-cronjob: is not <namespace>\/<cronjob name>; received "fraud-train"/);
  });

  it("makes exactly the calls MonitoringStack's onDrift Role allows: get that CronJob, list and create Jobs", async () => {
    seen = [];
    mode = "ok";
    await startRetrain(parseCronJobRef("ml/fraud-train"), { serviceAccountDir: saDir, env: env() });
    const used = seen.map((s) => {
      const m = /^\/apis\/(batch)\/v1\/namespaces\/([^/]+)\/([^/?]+)(?:\/([^/?]+))?(\?.*)?$/.exec(s.path)!;
      return { apiGroup: m[1], namespace: m[2], resource: m[3], name: m[4], verb: s.method === "POST" ? "create" : m[4] === undefined ? "list" : "get" };
    });
    expect(used.map((u) => u.verb)).toEqual(["get", "list", "create"]);
    const ctx = { stackName: "mon", partOf: "p", base: "mon", namespace: "monitoring", onDrift: { namespace: "ml", cronJob: "fraud-train" } } as unknown as DriftContext;
    const role = retrainRoleManifest(ctx, "mon-retrain");
    expect(role.metadata.namespace).toBe("ml");
    const granted = (u: (typeof used)[number]) =>
      (role.rules as { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[]).some(
        (r) => r.apiGroups.includes(u.apiGroup!) && r.resources.includes(u.resource!) && r.verbs.includes(u.verb) && (!r.resourceNames || r.resourceNames.includes(u.name!)),
      );
    expect(used.every((u) => u.namespace === "ml" && granted(u))).toBe(true);
    // And nothing more is granted than is used.
    const rules = (role.rules as { resources: string[]; verbs: string[]; resourceNames?: string[] }[]).map((r) => `${r.resources.join()}:${r.verbs.join()}:${r.resourceNames?.join() ?? "*"}`);
    expect(rules.sort()).toEqual(["cronjobs:get:fraud-train", "jobs:create,list:*"]);
  });
});

describe("startRetrain while drift persists", () => {
  const now = new Date("2026-05-02T12:00:00Z");
  const ago = (hours: number) => new Date(now.getTime() - hours * 3_600_000).toISOString();
  const owner = (uid = CRONJOB.metadata.uid) => [{ apiVersion: "batch/v1", kind: "CronJob", name: "fraud-train", uid, controller: true }];
  const done = (type: "Complete" | "Failed") => ({ conditions: [{ type, status: "True" }] });
  /** A Job in namespace ml: `drift` ones are named and annotated as startRetrain makes them. */
  const job = (name: string, hours: number, status: object, o: { drift?: boolean; uid?: string; suspend?: boolean } = {}) => ({
    metadata: { name, namespace: "ml", creationTimestamp: ago(hours), ...(o.drift ? { annotations: { [INSTANTIATE_ANNOTATION]: "manual" } } : {}), ownerReferences: owner(o.uid) },
    spec: o.suspend ? { suspend: true } : {},
    status,
  });
  const run = (cooldownSeconds?: number) => startRetrain({ ...parseCronJobRef("ml/fraud-train"), ...(cooldownSeconds !== undefined ? { cooldownSeconds } : {}) }, { serviceAccountDir: saDir, env: env() }, now);
  const posted = () => seen.filter((s) => s.method === "POST").length;

  it("starts none while a Job of the CronJob runs, scheduled or drift-started", async () => {
    mode = "ok";
    for (const running of [job("fraud-train-29123456", 0.5, { active: 1 }), job("fraud-train-drift-20260502100000", 2, {}, { drift: true })]) {
      seen = [];
      jobs = [job("other-train-drift-1", 0.1, { active: 1 }, { drift: true, uid: "another-cronjob" }), job("fraud-train-old", 30, done("Complete")), running];
      const r = await run();
      expect(r).toEqual({ namespace: "ml", cronJob: "fraud-train", skipped: "running", existing: (running.metadata as { name: string }).name, createdAt: running.metadata.creationTimestamp, cooldownSeconds: 86_400 });
      expect(posted()).toBe(0);
      expect(retrainLine(r)).toMatch(/^retrain: not started: Job ml\/fraud-train-\S+ from CronJob ml\/fraud-train is still running/);
    }
  });

  it("starts none within the cooldown after a drift-started Job, whatever its outcome; a scheduled run does not count", async () => {
    mode = "ok";
    for (const outcome of [done("Complete"), done("Failed")]) {
      seen = [];
      jobs = [job("fraud-train-drift-20260502020000", 10, outcome, { drift: true }), job("fraud-train-drift-20260502060000", 6, outcome, { drift: true }), job("fraud-train-29123456", 1, done("Complete"))];
      const r = await run();
      expect(r).toMatchObject({ skipped: "cooldown", existing: "fraud-train-drift-20260502060000", createdAt: ago(6) });
      expect(retrainLine(r)).toContain(`was started on drift at ${ago(6)}, less than the cooldown (86400 s, --retrain-cooldown) ago`);
      expect(posted()).toBe(0);
    }
    // A shorter cooldown, or none, lets it start; so does a cooldown that has passed.
    for (const cooldown of [5 * 3600, 0]) {
      seen = [];
      expect(await run(cooldown)).toMatchObject({ name: "fraud-train-drift-20260502120000", cronJob: "fraud-train" });
      expect(posted()).toBe(1);
    }
    seen = [];
    jobs = [job("fraud-train-drift-20260501110000", 25, done("Complete"), { drift: true }), job("fraud-train-29123456", 1, done("Complete"))];
    expect(await run()).toMatchObject({ name: "fraud-train-drift-20260502120000" });
    expect(posted()).toBe(1);
  });

  it("counts a suspended Job as not running, and reads every page of the list", async () => {
    mode = "ok";
    seen = [];
    jobs = [job("fraud-train-paused", 1, {}, { suspend: true })];
    expect(await run()).toMatchObject({ name: "fraud-train-drift-20260502120000" });
    seen = [];
    pageSize = 2;
    jobs = [...Array.from({ length: 5 }, (_, i) => job(`unrelated-${i}`, 1, done("Complete"), { uid: "x" })), job("fraud-train-29123457", 0.2, { active: 1 })];
    try {
      expect(await run()).toMatchObject({ skipped: "running", existing: "fraud-train-29123457" });
    } finally {
      pageSize = 500;
    }
    expect(seen.filter((s) => s.path.includes("/jobs?")).map((s) => s.path.split("?")[1])).toEqual(["limit=500", "limit=500&continue=2", "limit=500&continue=4"]);
  });
});
