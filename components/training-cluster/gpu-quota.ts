/**
 * How a team's GPU quota is shared among the node pools in its Kueue ClusterQueue. The namespace
 * ResourceQuota caps the team at `gpuQuota` in total, so the per-pool quotas must add up to exactly that:
 * more and Kueue admits workloads whose pods the API server then refuses; less and GPUs sit idle.
 */
import { problem } from "../../src/errors.js";

/** What the split needs of a node pool (a NormalizedPool has it; structural, so that normalize.ts imports this file and not the reverse). */
export interface QuotaPool {
  readonly name: string;
  readonly gpusPerNode: number;
  /** EKS pools: their most nodes. */
  readonly eks?: { readonly max: number };
}

/**
 * A pool's weight in the default split: its most GPUs (`max × gpusPerNode`) on EKS; 1 on kubeconfig
 * pools, whose size this package does not know.
 */
function weightOf(pool: QuotaPool): number {
  return pool.eks ? pool.eks.max * pool.gpusPerNode : 1;
}

/**
 * Splits `gpuQuota` across `pools` in proportion to their GPU capacity: each pool gets the floor of
 * its share, and the GPUs left over go one each to the pools with the largest fractional parts (the
 * earlier pool wins a tie), so the parts sum to `gpuQuota` exactly. Keys follow pool order; no pools
 * gives `{}`.
 */
export function splitGpuQuota(gpuQuota: number, pools: readonly QuotaPool[]): Record<string, number> {
  const weights = pools.map(weightOf);
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return {};
  // Integer arithmetic (quotient and remainder of gpuQuota × weight / total) keeps ties exact.
  const parts = weights.map((w, i) => ({ i, floor: Math.floor((gpuQuota * w) / total), rest: (gpuQuota * w) % total }));
  let left = gpuQuota - parts.reduce((a, p) => a + p.floor, 0);
  const quotas = parts.map((p) => p.floor);
  for (const p of [...parts].sort((a, b) => b.rest - a.rest || a.i - b.i)) {
    if (left === 0) break;
    quotas[p.i]! += 1;
    left -= 1;
  }
  return Object.fromEntries(pools.map((p, i) => [p.name, quotas[i]!]));
}

/** Every pool's quota for a team: `given` as is (a pool it leaves out gets 0), else the default split. */
export function resolveGpuQuotaByPool(
  gpuQuota: number,
  given: Readonly<Record<string, number>> | undefined,
  pools: readonly QuotaPool[],
): Record<string, number> {
  if (!given) return splitGpuQuota(gpuQuota, pools);
  return Object.fromEntries(pools.map((p) => [p.name, given[p.name] ?? 0]));
}

/**
 * The problems of one team's `gpuQuotaByPool`: keys that name no pool, and values that do not add up
 * to `gpuQuota`. Tolerant of a bad shape (the schema reports that).
 */
export function gpuQuotaByPoolProblems(
  at: string,
  team: { readonly name?: unknown; readonly gpuQuota?: unknown; readonly gpuQuotaByPool?: unknown },
  poolNames: readonly string[],
): string[] {
  const byPool = team.gpuQuotaByPool;
  if (byPool === undefined || byPool === null || typeof byPool !== "object" || Array.isArray(byPool)) return [];
  const out: string[] = [];
  const entries = Object.entries(byPool as Record<string, unknown>);
  const who = `team ${JSON.stringify(team.name)}`;
  const unknown = entries.map(([k]) => k).filter((k) => !poolNames.includes(k));
  if (unknown.length > 0) {
    out.push(
      problem(
        `${at}.gpuQuotaByPool`,
        `of ${who} names no node pool: ${unknown.join(", ")}`,
        byPool,
        `Use only pool names as keys: ${poolNames.join(", ") || "(no pool declared: add nodePools)"}.`,
      ),
    );
  }
  const values = entries.map(([, v]) => v);
  if (typeof team.gpuQuota === "number" && values.every((v) => typeof v === "number")) {
    const sum = (values as number[]).reduce((a, b) => a + b, 0);
    if (sum !== team.gpuQuota) {
      out.push(
        problem(
          `${at}.gpuQuotaByPool`,
          `of ${who} sums to ${sum}, not to its gpuQuota (${team.gpuQuota})`,
          byPool,
          `Make the per-pool values add up to ${team.gpuQuota} (the namespace quota caps the team's total), or leave gpuQuotaByPool out to split gpuQuota by pool capacity.`,
        ),
      );
    }
  }
  return out;
}
