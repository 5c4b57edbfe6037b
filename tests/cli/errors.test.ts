// What the command says when it is asked for help or given something it cannot use: usage on stdout and
// exit 0 for --help; a clear error naming the flag and exit 2 for a mistake; never "internal error".
import { describe, expect, test } from "vitest";
import { mlops } from "../helpers/cli.js";

describe("--help", () => {
  test.each([
    ["serve"],
    ["train"],
    ["demo"],
    ["synth"],
    ["spec"],
    ["registry"],
    ["registry", "register"],
    ["registry", "list"],
    ["registry", "alias"],
    ["registry", "promote"],
  ])("mlops %s %s --help prints its usage and exits 0", async (...command) => {
    const r = await mlops([...command.filter(Boolean), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: mlops ${command.filter(Boolean).join(" ")}`));
    expect(r.stderr).toBe("");
  });

  test("-h works like --help", async () => {
    const r = await mlops(["registry", "list", "-h"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: mlops registry list/);
  });
});

describe("mistakes on the command line", () => {
  test("fails with exit 2 and the usage when a flag is unknown", async () => {
    const r = await mlops(["train", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--bogus'/);
    expect(r.stderr).toMatch(/usage: mlops train/);
  });

  test("fails with exit 2 naming server.host when the host is not an address of this machine", async () => {
    const r = await mlops(["serve", "--model", "m@champion", "--host", "999.1.1.1", "--port", "0", "--registry", "file:///nonexistent-registry"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: server\.host: is not an address of this machine \(ENOTFOUND\); received "999\.1\.1\.1"\. Use 127\.0\.0\.1/m);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  test("fails with exit 2 naming --port when the port is out of range", async () => {
    const r = await mlops(["serve", "--model", "m@champion", "--port", "70000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port: must be a whole number from 0 to 65535; received "70000"/);
  });
});
