import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { buildContextDigest } from "../../../components/shared/image.js";
import { ROOT } from "../../helpers/cli.js";

const dockerfile = () => readFile(new URL("../../../runtime/Dockerfile", import.meta.url), "utf8");

describe("runtime/Dockerfile", () => {
  it("builds on a Node LTS still supported on 2026-12-01 (24: until 2028-04-30), pinned by digest", async () => {
    const base = /^ARG NODE_IMAGE=(.+)$/m.exec(await dockerfile())?.[1];
    expect(base).toMatch(/^node:24-bookworm-slim@sha256:[0-9a-f]{64}$/);
  });

  it("uses NODE_IMAGE for both stages", async () => {
    const froms = (await dockerfile()).match(/^FROM .+$/gm) ?? [];
    expect(froms).toHaveLength(2);
    for (const from of froms) expect(from).toMatch(/^FROM \$\{NODE_IMAGE\}/);
  });
});

describe("buildContextDigest", () => {
  it("is the same for the same context and base image", () => {
    expect(buildContextDigest(ROOT)).toBe(buildContextDigest(ROOT));
  });

  it("changes with the base image", () => {
    expect(buildContextDigest(ROOT, "node:26-bookworm-slim")).not.toBe(buildContextDigest(ROOT));
  });
});
