import { packageVersion } from "../../src/package.js";

/** Server name in OIP server metadata (`GET /v2`). */
export const SERVER_NAME = "mlops-serve";

/** This package's version (the source tree, `dist/` and the runtime image all keep its package.json). */
export const SERVER_VERSION: string = packageVersion();
