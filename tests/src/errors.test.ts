import { describe, expect, test } from "vitest";
import { z } from "zod";
import { isSecretField, MlopsError, parseOrThrow, problem, show, showSecret } from "../../src/errors.js";

const CANARY = "CANARY-9f3b";
const kubeconfig = `apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: ${CANARY}\n`;

describe("secret fields", () => {
  test.each(["kubeconfig", "kubernetes.kubeconfig", "auth.token", "pulumi-mlops:authToken", "registry.password", "creds[0].secretKey"])(
    "treats %s as secret",
    (field) => expect(isSecretField(field)).toBe(true),
  );

  test.each(["model", "replicas.min", "endpoint.cpu", "registry"])("treats %s as plain", (field) => expect(isSecretField(field)).toBe(false));

  test("describes a secret field's value by its length, never its content", () => {
    const line = problem("kubeconfig", "is not valid YAML", kubeconfig, "Fix it.");
    expect(line).not.toContain(CANARY);
    expect(line).toContain(`received a value of ${kubeconfig.length} characters (not shown: secret)`);
  });

  test("groups thousands in the length", () => {
    expect(showSecret("x".repeat(2345))).toBe("a value of 2,345 characters (not shown: secret)");
  });

  test("MlopsError.of hides a too-short token", () => {
    const err = MlopsError.of("auth.token", "must be at least 16 characters", CANARY, "Use a longer token.");
    expect(err.message).not.toContain(CANARY);
    expect(err.message).toContain("not shown: secret");
  });
});

describe("show", () => {
  test("masks secret-named keys inside an object", () => {
    const out = show({ provider: "p", kubeconfig: kubeconfig, nested: { token: CANARY } });
    expect(out).not.toContain(CANARY);
    expect(out).toContain('"provider":"p"');
  });

  test("masks a kubeconfig or a token given under a plain name", () => {
    expect(show(kubeconfig)).not.toContain(CANARY);
    expect(show(`{"kind":"Config","users":[{"user":{"token":"${CANARY}"}}]}`)).not.toContain(CANARY);
    expect(show(["x", `Bearer ${CANARY}`])).not.toContain(CANARY);
  });

  test("still prints ordinary values", () => {
    expect(show("fraud")).toBe('"fraud"');
    expect(show({ min: 0 })).toBe('{"min":0}');
  });

  test("names nested class instances instead of dumping them", () => {
    class Provider {
      readonly kubeconfig = kubeconfig;
    }
    const out = show({ provider: new Provider() });
    expect(out).toContain("a Provider");
    expect(out).not.toContain(CANARY);
  });
});

describe("parseOrThrow", () => {
  test("never prints a secret field, even among unrecognized keys", () => {
    const schema = z.object({ name: z.string(), token: z.string().min(16) }).strict();
    const err = (() => {
      try {
        parseOrThrow(schema, { name: "x", token: CANARY, password: CANARY }, "args");
      } catch (e) {
        return e as MlopsError;
      }
      throw new Error("expected a failure");
    })();
    expect(err).toBeInstanceOf(MlopsError);
    expect(err.problems).toHaveLength(2);
    expect(err.message).not.toContain(CANARY);
  });
});
