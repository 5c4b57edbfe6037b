import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HelpRequested } from "../../cli/args.js";
import { releaseCommand } from "../../cli/release.js";
import { assembleRelease, releaseDigest } from "../../src/release/index.js";
import { mlops } from "../helpers/cli.js";
import { IMAGE, IMAGE_2, stages, type Stages } from "../src/release/fixture.js";

let s: Stages;
let endpointFile: string;
beforeAll(async () => {
  s = await stages();
  endpointFile = join(s.dir, "endpoint.yaml");
  await writeFile(endpointFile, YAML.stringify(s.endpoint));
});
afterAll(() => s.close());

const create = (...extra: string[]) => mlops(["release", "create", "fraud", "--model", "fraud@challenger", "--registry", s.staging.uri, ...extra]);
/** The command in-process (the machine is shared: one subprocess per behaviour that needs main.ts's exit codes). */
async function release(...argv: string[]): Promise<string> {
  const lines: string[] = [];
  expect(await releaseCommand(argv, (l) => lines.push(l))).toBe(0);
  return lines.join("\n");
}

describe("mlops release", () => {
  it("create prints the release's digest; the same inputs again give the same digest and create nothing", async () => {
    const first = await create("--image", IMAGE, "--endpoint", endpointFile);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout);
    expect(a).toMatchObject({ name: "fraud", created: true, model: "fraud:1", modelDigest: s.version.digest, image: IMAGE });
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = JSON.parse((await create("--image", IMAGE, "--endpoint", endpointFile)).stdout);
    expect(again).toMatchObject({ digest: a.digest, created: false, createdAt: a.createdAt });
    // The command and the library agree: the spec read from YAML hashes as the object it was written from.
    expect(releaseDigest(await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE, endpoint: s.endpoint }))).toBe(a.digest);
  });

  it("list, show and diff the releases", async () => {
    const b = JSON.parse(await release("create", "fraud", "--model", "fraud:1", "--image", IMAGE_2, "--endpoint", endpointFile, "--registry", s.staging.uri));
    const list = await release("list", "fraud", "--registry", s.staging.uri);
    expect(list.split("\n")[0]).toMatch(/^NAME\s+DIGEST\s+CREATED\s+MODEL\s+IMAGE$/);
    expect(list.split("\n")).toHaveLength(3);
    const json = JSON.parse(await release("list", "--json", "--registry", s.staging.uri));
    expect(json).toHaveLength(2);
    const [a] = json;
    const show = JSON.parse(await release("show", `fraud@${a.digest.slice(7, 19)}`, "--registry", s.staging.uri));
    expect(show).toEqual(a);
    expect(show.release.features.views).toMatchObject({ txn_stats: { version: 1 }, profile: { version: 1 } });
    const diff = await release("diff", `fraud@${a.digest}`, `fraud@${b.digest}`, "--registry", s.staging.uri);
    expect(diff).toMatch(/^PATH\s+A\s+B\s+DEPLOYED\nimage\.digest\s+sha256:a+\s+sha256:b+\s+yes\nimage\.ref/);
    expect(await release("diff", `fraud@${a.digest}`, `fraud@${a.digest}`, "--registry", s.staging.uri)).toMatch(/the same release/);
  });

  it("fails when --image is a tag without a digest, and creates nothing", async () => {
    const before = JSON.parse(await release("list", "--json", "--registry", s.staging.uri)).length;
    const r = await create("--image", "ghcr.io/acme/mlops-runtime:1.4");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--image: is not pinned by a digest (a tag can be moved to another image); received "ghcr.io/acme/mlops-runtime:1.4"');
    expect(JSON.parse(await release("list", "--json", "--registry", s.staging.uri))).toHaveLength(before);
  });

  it("fails naming --endpoint when the file cannot be read", async () => {
    await expect(release("create", "fraud", "--model", "fraud:1", "--endpoint", join(s.dir, "nope.yaml"), "--registry", s.staging.uri)).rejects.toThrow(/--endpoint: cannot be read \(ENOENT\)/);
  });

  it("--help gives the usage of every subcommand", async () => {
    const help = await releaseCommand(["--help"], () => {}).catch((e: unknown) => e);
    expect(help).toBeInstanceOf(HelpRequested);
    expect((help as HelpRequested).usage).toMatch(/^mlops release create <name>[\s\S]*mlops release list[\s\S]*mlops release show[\s\S]*mlops release diff/);
  });

  it("fails on an unknown command with the usage", async () => {
    await expect(release("publish")).rejects.toThrow(/unknown release command "publish"[\s\S]*mlops release create <name> --model/);
  });
});
