import { DISTRIBUTED_ENV } from "../../src/spec/env.js";

/** Where one worker sits in a distributed run. */
export interface DistributedOptions {
  /** Worker processes (pods on Kubernetes). */
  readonly workers: number;
  /** This worker's index, 0-based; on an Indexed Job it is `JOB_COMPLETION_INDEX`. */
  readonly rank: number;
  /** Host of rank 0: `127.0.0.1` locally, rank 0's pod name through the headless Service on Kubernetes. */
  readonly masterAddr: string;
  readonly masterPort: number;
  /** GPUs per worker; torchrun starts this many processes per node. 0 (CPU) counts as 1. */
  readonly gpusPerWorker?: number;
}

/**
 * The environment `torch.distributed` (`init_process_group("env://")`) and `torchrun` read, for one
 * worker. One worker is one node: `RANK` is the node's rank, `LOCAL_RANK` 0, and `NPROC_PER_NODE` tells a
 * `torchrun` launcher how many processes to start there (it then rewrites `RANK`/`WORLD_SIZE` per process).
 * The Kubernetes Indexed Job sets the same names, with `RANK` taken from `JOB_COMPLETION_INDEX`.
 */
export function distributedEnv(opts: DistributedOptions): Record<string, string> {
  const perNode = Math.max(1, opts.gpusPerWorker ?? 0);
  return {
    [DISTRIBUTED_ENV.masterAddr]: opts.masterAddr,
    [DISTRIBUTED_ENV.masterPort]: String(opts.masterPort),
    [DISTRIBUTED_ENV.worldSize]: String(opts.workers),
    [DISTRIBUTED_ENV.rank]: String(opts.rank),
    [DISTRIBUTED_ENV.nodeRank]: String(opts.rank),
    [DISTRIBUTED_ENV.nnodes]: String(opts.workers),
    [DISTRIBUTED_ENV.localRank]: "0",
    [DISTRIBUTED_ENV.localWorldSize]: String(perNode),
    [DISTRIBUTED_ENV.nprocPerNode]: String(perNode),
  };
}

