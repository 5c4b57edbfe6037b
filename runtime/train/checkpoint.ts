import { mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Logger } from "../../src/log.js";
import type { ObjectStore } from "../../src/store/types.js";

/** The default checkpoint location: `<registry>/checkpoints/<name>/<runId>`. */
export function defaultCheckpointUri(registryUri: string, name: string, runId: string): string {
  return `${registryUri.replace(/\/+$/, "")}/checkpoints/${name}/${runId}`;
}

/** The runtime's own keys in a checkpoint location, which the trainer's files never overwrite or delete. */
export const RUNTIME_KEYS = ".mlops/";

/** Files under `dir`, as `/`-separated paths relative to it, with size and mtime. */
async function walk(dir: string): Promise<Map<string, { path: string; size: number; mtimeMs: number }>> {
  const out = new Map<string, { path: string; size: number; mtimeMs: number }>();
  const visit = async (d: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(d, e.name);
      if (e.isDirectory()) await visit(full);
      else if (e.isFile()) {
        try {
          const s = await stat(full);
          out.set(relative(dir, full).split(sep).join("/"), { path: full, size: s.size, mtimeMs: s.mtimeMs });
        } catch {
          // Deleted between readdir and stat: the trainer is rotating checkpoints; the next sync sees it.
        }
      }
    }
  };
  await visit(dir);
  return out;
}

/**
 * Mirrors a local checkpoint folder to an object-store location: {@link restore} at start, {@link sync}
 * periodically, on SIGTERM/abort and at the end. Only changed files are uploaded; files the trainer
 * deleted are deleted remotely too, so the store never holds a mix of old and new checkpoints.
 * Trainers should write each checkpoint file atomically (write then rename), as a sync may run mid-step.
 */
export class CheckpointSync {
  private readonly uploaded = new Map<string, string>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: ObjectStore,
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Downloads every file of this location into the folder; returns how many there were. Keys under
   * `.mlops/` are the runtime's own (e.g. the training set a run pinned), never the trainer's.
   */
  async restore(): Promise<number> {
    const keys = (await this.store.list("")).filter((k) => !k.startsWith(RUNTIME_KEYS));
    await mkdir(this.dir, { recursive: true });
    for (const key of keys) {
      const local = join(this.dir, ...key.split("/"));
      await mkdir(dirname(local), { recursive: true });
      await this.store.getFile(key, local);
      const s = await stat(local);
      this.uploaded.set(key, `${s.size}:${s.mtimeMs}`);
    }
    if (keys.length) this.logger.info("checkpoint restored", { files: keys.length, from: this.store.uri });
    return keys.length;
  }

  /** Uploads what changed since the last sync; syncs never overlap. Returns files uploaded. */
  sync(): Promise<number> {
    const run = this.chain.then(() => this.syncOnce());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async syncOnce(): Promise<number> {
    const files = await walk(this.dir);
    let count = 0;
    for (const [key, f] of files) {
      if (key.startsWith(RUNTIME_KEYS)) continue;
      const tag = `${f.size}:${f.mtimeMs}`;
      if (this.uploaded.get(key) === tag) continue;
      try {
        await this.store.putFile(key, f.path);
      } catch (err) {
        // The trainer may have replaced or removed it meanwhile; the next sync catches up.
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      this.uploaded.set(key, tag);
      count++;
    }
    for (const key of [...this.uploaded.keys()]) {
      if (!files.has(key)) {
        await this.store.delete(key);
        this.uploaded.delete(key);
      }
    }
    if (count) this.logger.debug("checkpoint synced", { files: count, to: this.store.uri });
    return count;
  }

  /** Syncs every `intervalSeconds` until {@link stop}. A failed periodic sync is logged, not fatal. */
  start(intervalSeconds: number): void {
    this.timer = setInterval(() => {
      this.sync().catch((err: Error) => this.logger.warn("checkpoint sync failed", { error: err.message }));
    }, intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
