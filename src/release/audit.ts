import * as os from "node:os";
import type { ObjectStore } from "../store/types.js";
import type { CheckResult } from "./checks.js";
import { digestHex } from "./digest.js";
import type { StackRollout } from "./rollout.js";

/** Who ran a promotion: the CI system's actor when it runs in one, else the local user. */
export interface Actor {
  readonly user: string;
  /** `github`, `gitlab`, `circleci` or `jenkins`, when run by one. */
  readonly ci?: string;
  /** The CI run's URL (or id), when the CI system says. */
  readonly run?: string;
}

/** One thing a promotion copied or moved into the target, or found already there. */
export interface PromotionStep {
  readonly what: "model" | "profile" | "run" | "release" | "stack" | "alias";
  readonly action: "copied" | "present" | "moved" | "unchanged" | "updated" | "would-copy" | "would-move" | "would-update";
  readonly detail: string;
}

/** `audit/promotions/<stamp>-<name>-<hex12>.json` in the target registry: one per promotion attempt. */
export interface PromotionAudit {
  readonly kind: "PromotionAudit";
  readonly at: string;
  readonly actor: Actor;
  /**
   * `promoted`: something changed; `no-op`: everything was already there; `refused`: a check failed, nothing
   * was copied; `failed`: an error stopped it part way (see {@link error}; the alias was not moved).
   */
  readonly outcome: "promoted" | "no-op" | "refused" | "failed";
  readonly error?: string;
  readonly release: { readonly name: string; readonly digest: string };
  readonly from: string;
  readonly to: string;
  readonly alias: string;
  readonly checks: readonly CheckResult[];
  readonly steps: readonly PromotionStep[];
  /** The version the alias points at in the target. */
  readonly targetVersion?: number;
  readonly stack?: StackRollout;
}

/** The actor from the CI system's environment (GitHub Actions, GitLab CI, CircleCI, Jenkins), else `$USER`. */
export function actorFromEnv(env: NodeJS.ProcessEnv = process.env): Actor {
  const local = env.USER || env.LOGNAME || env.USERNAME || safeUser();
  if (env.GITHUB_ACTIONS === "true") {
    const run = env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${env.GITHUB_REPOSITORY ?? ""}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
    return { user: env.GITHUB_TRIGGERING_ACTOR || env.GITHUB_ACTOR || local, ci: "github", ...(run ? { run } : {}) };
  }
  if (env.GITLAB_CI === "true") return { user: env.GITLAB_USER_LOGIN || local, ci: "gitlab", ...(env.CI_JOB_URL ? { run: env.CI_JOB_URL } : {}) };
  if (env.CIRCLECI === "true") return { user: env.CIRCLE_USERNAME || local, ci: "circleci", ...(env.CIRCLE_BUILD_URL ? { run: env.CIRCLE_BUILD_URL } : {}) };
  if (env.JENKINS_URL) return { user: env.BUILD_USER_ID || local, ci: "jenkins", ...(env.BUILD_URL ? { run: env.BUILD_URL } : {}) };
  return { user: local };
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return "unknown";
  }
}

/** Writes an audit record; never replaces one (two in the same millisecond get `-2`, `-3`…). Returns its URI. */
export async function writeAudit(store: ObjectStore, audit: PromotionAudit): Promise<string> {
  const base = `audit/promotions/${audit.at.replace(/[:.]/g, "-")}-${audit.release.name}-${digestHex(audit.release.digest).slice(0, 12)}`;
  const body = JSON.stringify(audit, null, 2) + "\n";
  for (let n = 1; ; n++) {
    const key = n === 1 ? `${base}.json` : `${base}-${n}.json`;
    if (await store.putIfAbsent(key, body)) return store.uriOf(key);
    if (n >= 1000) throw new Error(`Could not write an audit record under ${store.uriOf(base)}: 1000 taken`);
  }
}

/** Every audit record in a store, oldest first (optionally only one release name's). */
export async function listAudits(store: ObjectStore, name?: string): Promise<PromotionAudit[]> {
  const keys = (await store.list("audit/promotions/")).filter((k) => k.endsWith(".json"));
  const out: { audit: PromotionAudit; n: number }[] = [];
  for (const key of keys) {
    const bytes = await store.get(key);
    if (!bytes) continue;
    const audit = JSON.parse(bytes.toString("utf8")) as PromotionAudit;
    // `-<n>` marks the n-th record of one millisecond (see writeAudit); the first has none.
    const n = Number(/-[0-9a-f]{12}-(\d+)\.json$/.exec(key)?.[1] ?? 1);
    if (name === undefined || audit.release?.name === name) out.push({ audit, n });
  }
  return out.sort((a, b) => (a.audit.at < b.audit.at ? -1 : a.audit.at > b.audit.at ? 1 : a.n - b.n)).map((x) => x.audit);
}
