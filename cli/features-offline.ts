import { MlopsError } from "../src/errors.js";

/** Placeholder until the offline feature commands land (being written now). */
export async function offlineCommand(sub: string, _argv: string[], _out: (s: string) => void): Promise<number> {
  throw new MlopsError(`mlops features ${sub} is not available yet`);
}
