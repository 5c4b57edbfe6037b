import { MlopsError } from "../src/errors.js";

const USAGE = `mlops features <command> --spec <features.yaml> …
  apply --spec <features.yaml>
  historical --spec <f> --entities <file.csv|parquet> --features <view:feature,…> [--full-feature-names] [--save <name>] --out <file.csv|parquet> [--allow-later-writes]
  materialize --spec <f> (--start <iso> --end <iso> | --incremental [--end <iso>])
  get --spec <f> --entity <key>=<value>… --features <view:feature,…>
  serve --spec <f> [--host 127.0.0.1] [--port 6566]`;

/** `mlops features …`: the offline side (apply, historical) and the online side (materialize, get, serve). */
export async function featuresCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "apply":
    case "historical":
      return (await import("./features-offline.js")).offlineCommand(sub, rest, out);
    case "materialize":
    case "get":
    case "serve":
      return (await import("./features-online.js")).onlineCommand(sub, rest, out);
    case "--help":
    case "-h":
    case "help":
      out(`usage: ${USAGE}`);
      return 0;
    default:
      throw new MlopsError(`unknown features command ${JSON.stringify(sub ?? "")}\nusage: ${USAGE}`);
  }
}
