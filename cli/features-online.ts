import { MlopsError } from "../src/errors.js";

/** Placeholder until the online feature commands land (being written now). */
export async function onlineCommand(sub: string, _argv: string[], _out: (s: string) => void): Promise<number> {
  throw new MlopsError(`mlops features ${sub} is not available yet`);
}
