import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { MlopsError, NotFoundError } from "../errors.js";
import { checkKey, checkPrefix, TEMP_SUFFIX } from "./keys.js";
import type { ObjectStore } from "./types.js";

/**
 * An object store in a local folder. Every write goes to a temp file beside its target and is then
 * renamed (put) or hard-linked (putIfAbsent) into place, so readers and other processes never see a
 * partly written object, and a process killed mid-write leaves only an unlisted temp file behind.
 */
export class FileStore implements ObjectStore {
  readonly uri: string;

  /** @param root absolute path of the store's folder (created on first write) */
  constructor(readonly root: string) {
    if (!path.isAbsolute(root)) throw new Error(`FileStore root must be absolute: ${root}`);
    this.root = path.resolve(root);
    this.uri = pathToFileURL(this.root).href;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await this.replace(key, (tmp) => fs.writeFile(tmp, body));
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    const final = this.pathOf(key);
    const tmp = await this.tempBeside(final);
    try {
      await fs.writeFile(tmp, body);
      // link(2) fails with EEXIST when the target exists, atomically, across processes: the content
      // appears complete or not at all (a rename would silently replace a winner's object).
      await fs.link(tmp, final);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw this.writeError(err, key);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    // Walk only the deepest folder the prefix names, then filter by the full prefix (S3 semantics:
    // "models/fr" matches "models/fraud/...").
    const slash = prefix.lastIndexOf("/");
    const dirKey = slash < 0 ? "" : prefix.slice(0, slash);
    const keys: string[] = [];
    await walk(path.join(this.root, dirKey), dirKey, keys);
    return keys.filter((k) => k.startsWith(prefix)).sort();
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await fs.stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  async putFile(key: string, localPath: string): Promise<void> {
    await this.replace(key, (tmp) => fs.copyFile(localPath, tmp));
  }

  async getFile(key: string, localPath: string): Promise<void> {
    const source = this.pathOf(key);
    if (!(await this.exists(key))) throw new NotFoundError(`Object "${key}" does not exist in ${this.uri}.`);
    await fs.mkdir(path.dirname(path.resolve(localPath)), { recursive: true });
    await pipeline(createReadStream(source), createWriteStream(localPath));
  }

  uriOf(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  private pathOf(key: string): string {
    return path.join(this.root, checkKey(key));
  }

  /** Writes a temp file beside the object with `write`, then renames it into place (atomic replace). */
  private async replace(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const final = this.pathOf(key);
    const tmp = await this.tempBeside(final);
    try {
      await write(tmp);
      await fs.rename(tmp, final);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw this.writeError(err, key);
    }
  }

  private async tempBeside(final: string): Promise<string> {
    const dir = path.dirname(final);
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (err) {
      throw this.writeError(err, path.relative(this.root, final));
    }
    await sweepStaleTemps(dir);
    return `${final}.${process.pid}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`;
  }

  /** A write the filesystem refused for a reason the user can fix (permissions, a full or read-only disk) as an MlopsError. */
  private writeError(err: unknown, key: string): unknown {
    const code = (err as NodeJS.ErrnoException).code;
    const reasons: Record<string, string> = {
      EACCES: "is not writable by this user",
      EPERM: "is not writable by this user",
      EROFS: "is on a read-only filesystem",
      ENOSPC: "is on a full disk",
      EDQUOT: "is over its disk quota",
      ENOTDIR: "has a file where a folder should be",
    };
    const reason = code ? reasons[code] : undefined;
    if (!reason) return err;
    return MlopsError.of(
      "registry",
      `${reason} (${code} writing ${key})`,
      this.uri,
      code === "ENOSPC" || code === "EDQUOT" ? "Free space, or point --registry (or $MLOPS_REGISTRY) at another location." : "Fix the folder's permissions, or point --registry (or $MLOPS_REGISTRY) at a folder you can write.",
    );
  }
}

/** Temp files older than this were left by a writer that was killed; younger ones may be in use. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Removes temp files an interrupted write left in `dir` (best effort: another process may race us to it). */
async function sweepStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith(TEMP_SUFFIX));
  } catch {
    return;
  }
  const cutoff = Date.now() - STALE_TEMP_MS;
  await Promise.all(
    names.map(async (n) => {
      const p = path.join(dir, n);
      const st = await fs.stat(p).catch(() => undefined);
      if (st && st.mtimeMs < cutoff) await fs.rm(p, { force: true }).catch(() => undefined);
    }),
  );
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  // ENOTDIR: a parent is a file; EISDIR: the key names a folder. Neither is an object.
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

async function walk(dir: string, dirKey: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const entry of entries) {
    const key = dirKey ? `${dirKey}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await walk(path.join(dir, entry.name), key, out);
    else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) out.push(key);
  }
}
