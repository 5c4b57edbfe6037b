import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { withContext } from "../../stacks/kubeconfig.js";
import { mlopsFailure } from "../helpers/errors.js";

const CANARY = "CANARY-9f3b";
const kubeconfig = {
  apiVersion: "v1",
  kind: "Config",
  clusters: [{ name: "kind-mlops", cluster: { server: "https://127.0.0.1:6443" } }, { name: "shared", cluster: { server: "https://dev.example.com" } }],
  users: [{ name: "u", user: { token: CANARY } }],
  contexts: [
    { name: "kind-mlops", context: { cluster: "kind-mlops", user: "u" } },
    { name: "shared-dev", context: { cluster: "shared", user: "u" } },
  ],
  "current-context": "shared-dev",
};

describe("cluster.context", () => {
  it("sets current-context to the context named, keeping the rest", () => {
    const out = YAML.parse(withContext(YAML.stringify(kubeconfig), "kind-mlops", "dev"));
    expect(out).toEqual({ ...kubeconfig, "current-context": "kind-mlops" });
  });

  it("takes a kubeconfig in JSON form", () => {
    expect(YAML.parse(withContext(JSON.stringify(kubeconfig), "kind-mlops", "dev"))["current-context"]).toBe("kind-mlops");
  });

  it("fails naming the key and the contexts there are, never printing the kubeconfig", () => {
    const err = mlopsFailure(() => withContext(YAML.stringify(kubeconfig), "kind-other", "dev"));
    expect(err.message).toContain('pulumi-mlops:cluster.context: the kubeconfig has no context "kind-other"; it has "kind-mlops", "shared-dev"');
    expect(err.message).toContain("pulumi config set --stack dev --path 'pulumi-mlops:cluster.context'");
    expect(err.message).not.toContain(CANARY);
  });

  it("fails when the kubeconfig is not a mapping, without printing it", () => {
    const err = mlopsFailure(() => withContext(`- ${CANARY}`, "kind-mlops", "dev"));
    expect(err.message).toContain("pulumi-mlops:cluster.context: cannot be applied");
    expect(err.message).not.toContain(CANARY);
  });
});
