/**
 * Starting a retrain in the cluster when the dataset drifted: a Job made from the training CronJob's
 * `jobTemplate`, as `kubectl create job --from=cronjob/<name>` makes it (the template's labels and
 * annotations, `cronjob.kubernetes.io/instantiate: manual`, a controller ownerReference to the CronJob),
 * created through the Kubernetes API with the pod's ServiceAccount (its token file and CA, the API at
 * KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT). Three calls, which the MonitoringStack's onDrift Role
 * allows and nothing more: `get` the CronJob, `list` the Jobs of its namespace, `create` a Job.
 *
 * While the data stays drifted, every hourly drift run would start another retrain (each one a GPU Job), so
 * none is started while a Job of the CronJob (scheduled or drift-started) is still running, nor within the
 * cooldown after the last drift-started one (24 h by default; `--retrain-cooldown`, 0 turns it off). The
 * CronJob's own schedule does not count against the cooldown: a nightly run must not silence a drift alarm.
 *
 * The ownerReference leaves `blockOwnerDeletion` unset: setting it needs `update` on the CronJob's
 * finalizers where the OwnerReferencesPermissionEnforcement admission plugin is on, a verb the Role
 * does not grant. Deleting the CronJob still removes the Job (the garbage collector follows the
 * reference either way).
 *
 * The token is read from its file on every call (the kubelet rotates it) and never appears in an error.
 */
import { readFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { MlopsError } from "../../src/errors.js";

/** Where the kubelet mounts a pod's ServiceAccount credentials. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
export const INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate";
const FLAG = "--retrain-cronjob";
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface CronJobRef {
  readonly namespace: string;
  readonly name: string;
}

/** The training CronJob to retrain from, and how long after a drift-started retrain to start no other. */
export interface RetrainTarget extends CronJobRef {
  /** @default RETRAIN_COOLDOWN_SECONDS */
  readonly cooldownSeconds?: number;
}

/** No retrain is started within this long after the last drift-started one (`--retrain-cooldown`). */
export const RETRAIN_COOLDOWN_SECONDS = 24 * 3600;
/** Jobs listed per page, and pages at most (a namespace of more Jobs is checked for its first 10,000). */
const LIST_PAGE = 500;
const LIST_PAGES = 20;

/** `<namespace>/<name>`, each a DNS label. */
export function parseCronJobRef(text: string): CronJobRef {
  const m = /^([^/]+)\/([^/]+)$/.exec(text);
  if (!m || !NAME.test(m[1]!) || !NAME.test(m[2]!) || m[1]!.length > 63 || m[2]!.length > 52) {
    throw MlopsError.of(FLAG, "is not <namespace>/<cronjob name>", text, 'Write the training CronJob as "<namespace>/<name>", e.g. "ml/fraud-train" (lowercase letters, digits and "-").');
  }
  return { namespace: m[1]!, name: m[2]! };
}

/** `<cronjob>-drift-<yyyymmddhhmmss>`: at most 63 characters (the CronJob's name shortened to fit). */
export function retrainJobName(cronJob: string, now: Date = new Date()): string {
  return `${retrainJobPrefix(cronJob)}${now.toISOString().replace(/[-:T]/g, "").slice(0, 14)}`;
}

/** What every retrain Job's name of `cronJob` starts with: `<cronjob, shortened>-drift-`. */
function retrainJobPrefix(cronJob: string): string {
  const suffix = "-drift-";
  return `${cronJob.slice(0, 63 - suffix.length - 14).replace(/-+$/, "")}${suffix}`;
}

export interface KubeAccess {
  /** The API's base URL. @default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT */
  readonly apiUrl?: string;
  /** Folder holding `token` and `ca.crt`. @default {@link SERVICE_ACCOUNT_DIR} */
  readonly serviceAccountDir?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RetrainJob {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly cronJob: string;
}

/** A retrain not started, and the Job that is why. */
export interface RetrainSkipped {
  readonly namespace: string;
  readonly cronJob: string;
  /** "running": that Job has not finished; "cooldown": a drift-started Job began less than the cooldown ago. */
  readonly skipped: "running" | "cooldown";
  readonly existing: string;
  /** When `existing` was created (ISO 8601). */
  readonly createdAt: string;
  readonly cooldownSeconds: number;
}

export type RetrainOutcome = RetrainJob | RetrainSkipped;

/** The CLI's line for an outcome. */
export function retrainLine(r: RetrainOutcome): string {
  const from = `CronJob ${r.namespace}/${r.cronJob}`;
  if (!("skipped" in r)) return `retrain: created Job ${r.namespace}/${r.name} from ${from}`;
  if (r.skipped === "running") return `retrain: not started: Job ${r.namespace}/${r.existing} from ${from} is still running (created ${r.createdAt})`;
  return `retrain: not started: Job ${r.namespace}/${r.existing} was started on drift at ${r.createdAt}, less than the cooldown (${r.cooldownSeconds} s, --retrain-cooldown) ago`;
}

type Obj = Record<string, any>;

/** The Job `kubectl create job --from=cronjob/…` would create from `cronJob` (an API object). */
export function jobFromCronJob(cronJob: Obj, name: string): Obj {
  const template = (cronJob.spec?.jobTemplate ?? {}) as Obj;
  const meta = (template.metadata ?? {}) as Obj;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: cronJob.metadata.namespace,
      ...(meta.labels ? { labels: meta.labels } : {}),
      annotations: { ...(meta.annotations ?? {}), [INSTANTIATE_ANNOTATION]: "manual" },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: cronJob.metadata.name, uid: cronJob.metadata.uid, controller: true }],
    },
    spec: template.spec,
  };
}

/**
 * Creates the retrain Job from `ref`'s job template and returns what the API created, unless a Job of that
 * CronJob is still running or a drift-started one began less than the cooldown before `now`.
 */
export async function startRetrain(ref: RetrainTarget, access: KubeAccess = {}, now: Date = new Date()): Promise<RetrainOutcome> {
  const cooldownSeconds = ref.cooldownSeconds ?? RETRAIN_COOLDOWN_SECONDS;
  const api = await connection(access);
  const where = `CronJob ${ref.namespace}/${ref.name}`;
  const path = `/apis/batch/v1/namespaces/${ref.namespace}/cronjobs/${ref.name}`;
  const cronJob = await api.call("GET", path, undefined, `get ${where}`);
  if (!cronJob?.spec?.jobTemplate?.spec) {
    throw MlopsError.of(FLAG, `names ${where}, whose answer has no spec.jobTemplate.spec`, `${ref.namespace}/${ref.name}`, "Name a batch/v1 CronJob (the training job's).");
  }
  const owned = await ownedJobs(api, ref, String(cronJob.metadata?.uid ?? ""));
  const skip = (skipped: RetrainSkipped["skipped"], j: Obj): RetrainSkipped => ({ namespace: ref.namespace, cronJob: ref.name, skipped, existing: String(j.metadata?.name), createdAt: String(j.metadata?.creationTimestamp ?? "unknown"), cooldownSeconds });
  const running = owned.find(isRunning);
  if (running) return skip("running", running);
  const since = now.getTime() - cooldownSeconds * 1000;
  const recent = owned.filter((j) => j.metadata?.annotations?.[INSTANTIATE_ANNOTATION] === "manual" && String(j.metadata?.name).startsWith(retrainJobPrefix(ref.name)) && Date.parse(j.metadata?.creationTimestamp) > since);
  if (recent.length > 0) return skip("cooldown", recent.reduce((a, b) => (Date.parse(b.metadata.creationTimestamp) > Date.parse(a.metadata.creationTimestamp) ? b : a)));
  const job = jobFromCronJob(cronJob as Obj, retrainJobName(ref.name, now));
  const created = await api.call("POST", `/apis/batch/v1/namespaces/${ref.namespace}/jobs`, job, `create Job ${ref.namespace}/${job.metadata.name} from ${where}`);
  return { namespace: ref.namespace, name: String(created?.metadata?.name ?? job.metadata.name), ...(created?.metadata?.uid ? { uid: String(created.metadata.uid) } : {}), cronJob: ref.name };
}

/** The Jobs of `ref`'s namespace that the CronJob controls (its ownerReference's uid), page by page. */
async function ownedJobs(api: Connection, ref: CronJobRef, uid: string): Promise<Obj[]> {
  const owned: Obj[] = [];
  let next: string | undefined;
  for (let page = 0; page < LIST_PAGES; page++) {
    const query = `limit=${LIST_PAGE}${next ? `&continue=${encodeURIComponent(next)}` : ""}`;
    const list = await api.call("GET", `/apis/batch/v1/namespaces/${ref.namespace}/jobs?${query}`, undefined, `list Jobs in namespace ${ref.namespace}`);
    for (const j of Array.isArray(list.items) ? (list.items as Obj[]) : []) {
      if ((j.metadata?.ownerReferences ?? []).some((o: Obj) => o?.kind === "CronJob" && o?.uid === uid && o?.controller === true)) owned.push(j);
    }
    next = list.metadata?.continue || undefined;
    if (!next) break;
  }
  return owned;
}

/** A Job that has not finished: neither a Complete nor a Failed condition, and not suspended. */
function isRunning(job: Obj): boolean {
  if (job.spec?.suspend === true) return false;
  const done = (job.status?.conditions ?? []).some((c: Obj) => (c?.type === "Complete" || c?.type === "Failed") && c?.status === "True");
  return !done;
}

interface Connection {
  call(method: "GET" | "POST", path: string, body: unknown, what: string): Promise<Obj>;
}

async function connection(access: KubeAccess): Promise<Connection> {
  const env = access.env ?? process.env;
  const dir = access.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  let base = access.apiUrl;
  if (base === undefined) {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? "443";
    if (!host) {
      throw MlopsError.of(FLAG, "needs the Kubernetes API, and KUBERNETES_SERVICE_HOST is not set", undefined, "Run the drift job in the cluster (the MonitoringStack's drift CronJob), or leave --retrain-cronjob out (use --on-drift-train <train-spec.yaml> locally).");
    }
    base = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }
  const tokenPath = join(dir, "token");
  const token = (await readFile(tokenPath, "utf8").catch(() => {
    throw MlopsError.of(FLAG, `needs the ServiceAccount token, and ${tokenPath} cannot be read`, tokenPath, "Run the pod with automountServiceAccountToken: true (the MonitoringStack sets it when onDrift is given).");
  })).trim();
  const url = new URL(base);
  const ca = url.protocol === "https:" ? await readFile(join(dir, "ca.crt")).catch(() => undefined) : undefined;
  return {
    async call(method, path, body, what) {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      let res: { status: number; text: string };
      try {
        res = await send(url, method, path, token, payload, ca);
      } catch (err) {
        throw new MlopsError(`${FLAG}: could not ${what}: the Kubernetes API at ${url.origin} did not answer (${(err as Error).message}). Check that the pod reaches the API server (NetworkPolicy egress) and trusts its CA (${join(dir, "ca.crt")}).`);
      }
      let parsed: Obj | undefined;
      try {
        parsed = JSON.parse(res.text) as Obj;
      } catch {
        parsed = undefined;
      }
      if (res.status >= 200 && res.status < 300 && parsed) return parsed;
      throw new MlopsError(`${FLAG}: could not ${what}: ${res.status} ${statusWords(res.status)}${parsed?.message ? ` (${String(parsed.message)})` : ""}. ${fixFor(res.status)}`);
    },
  };
}

function send(url: URL, method: string, path: string, token: string, body: Buffer | undefined, ca: Buffer | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const options = {
      method,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port || (url.protocol === "https:" ? 443 : 80),
      path,
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/json",
        ...(body ? { "content-type": "application/json", "content-length": String(body.length) } : {}),
      },
      timeout: 30_000,
      ...(ca ? { ca } : {}),
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    };
    const req = url.protocol === "https:" ? httpsRequest(options, onResponse) : httpRequest(options, onResponse);
    req.on("timeout", () => req.destroy(new Error("no answer in 30 s")));
    req.on("error", reject);
    req.end(body);
  });
}

function statusWords(status: number): string {
  return ({ 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity" } as Record<number, string>)[status] ?? "error";
}

function fixFor(status: number): string {
  switch (status) {
    case 401:
      return "The ServiceAccount token was refused: check that the pod's token is mounted and not expired.";
    case 403:
      return "Grant the drift job's ServiceAccount get on that CronJob, and list and create on Jobs in its namespace (MonitoringStack drift.onDrift does).";
    case 404:
      return "Check the namespace and name of the training CronJob (kubectl get cronjobs -n <namespace>).";
    case 409:
      return "A Job of that name exists already (two drift runs in one second): run again.";
    default:
      return "See the API server's message.";
  }
}
