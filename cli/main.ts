#!/usr/bin/env node
/**
 * The `mlops` command. Dispatches to the runtime jobs (serve, train) and, for the commands that need
 * Pulumi (synth), loads the Pulumi side lazily, so the runtime image never loads @pulumi/*.
 */
import { MlopsError } from "../src/errors.js";
import { HelpRequested } from "./args.js";

const HELP = `mlops: production machine learning on Pulumi

usage:
  mlops demo [--exit] [--port N]                 the whole loop on this machine (train, gate, register, serve)
  mlops registry register <name> --file <model.onnx> [--metric k=v]… [--param k=v]… [--alias <a>] [--registry <uri>]
  mlops registry list <name> [--registry <uri>] [--json]
  mlops registry alias <name> <alias> <version> [--registry <uri>]
  mlops registry promote <name>@<alias>|<name>:<version> --from <uri> --to <uri> [--alias <a>]
  mlops release create <name> --model <ref> [--image <ref>@sha256:…] [--endpoint <spec.yaml>] | list [<name>] | show <release> | diff <a> <b>
  mlops promote <release> --from <uri> --to <uri> [--alias champion] [--require gate,slo,no-drift] [--slo-query <promql> --slo-min x --prometheus <url>] [--stack <dir>:<stack>] [--dry-run]   exit 3 when refused
  mlops serve --model <name>@<alias>|<name>:<version> [--registry <uri>] [--host 127.0.0.1] [--port 8080]
              [--max-batch-size N] [--max-batch-delay-ms N] [--variants <variants.yaml>]   canary/shadow: spec "variants"
  mlops train --spec <file.yaml|json>            (in a container: the spec comes from MLOPS_TRAIN_SPEC)
  mlops runs list <model> | show <run> | compare <run> <run>… [--registry <uri>] [--json]   recorded training runs
  mlops features apply|historical|materialize|get|serve --spec <features.yaml> …   feature views, training sets, online features
  mlops drift --reference <uri|profile.json> --current <uri> --out <dir> [--columns a,b] [--method m] [--threshold x] [--pushgateway <url>] [--on-drift "<cmd>"]   exit 3 on drift
  mlops drift --model <name>@<alias> --since 1h --payload-uri <uri> | --endpoint-spec <file> --since 1h   [--retrain-cronjob <ns>/<name>] [--on-drift-train <train-spec.yaml>]   payload logs vs the version's profile
  mlops spec schema <train|endpoint|features>    JSON Schema of a spec
  mlops synth [--stack <stage>] --out <dir>      every object a stack would create, offline
  mlops ci init --provider github|gitlab|circleci|jenkins [--out <dir>] [--force]   CI pipelines for your Pulumi project

The registry URI defaults to $MLOPS_REGISTRY, else file://.mlops/registry.`;

const out = (s: string) => process.stdout.write(s + "\n");
// `mlops … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "registry":
      return (await import("./registry.js")).registryCommand(rest, out);
    case "serve":
      return (await import("./serve.js")).serveCommand(rest, out);
    case "train":
      return (await import("./train.js")).trainCommand(rest, out);
    case "features":
      return (await import("./features.js")).featuresCommand(rest, out);
    case "spec":
      return (await import("./spec.js")).specCommand(rest, out);
    case "synth":
      return (await import("./synth.js")).synthCommand(rest, out);
    case "drift": return (await import("./drift.js")).driftCommand(rest, out);
    case "ci": return (await import("./ci-init.js")).ciCommand(rest, out);
    case "runs": return (await import("./runs.js")).runsCommand(rest, out);
    case "release": return (await import("./release.js")).releaseCommand(rest, out);
    case "promote": return (await import("./promote.js")).promoteCommand(rest, out);
    case "demo":
      return (await import("./demo.js")).demoCommand(rest, out);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      out(HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new MlopsError(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // -1: a long-running command (serve, demo) that exits from its own signal handler.
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof HelpRequested) {
      out(`usage: ${err.usage}`);
      process.exitCode = 0;
    } else if (err instanceof MlopsError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`internal error (a bug in pulumi-mlops, please report it): ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
