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
    MASTER_ADDR: opts.masterAddr,
    MASTER_PORT: String(opts.masterPort),
    WORLD_SIZE: String(opts.workers),
    RANK: String(opts.rank),
    NODE_RANK: String(opts.rank),
    NNODES: String(opts.workers),
    LOCAL_RANK: "0",
    LOCAL_WORLD_SIZE: String(perNode),
    NPROC_PER_NODE: String(perNode),
  };
}

