import { describe, expect, it } from "vitest";
import { distributedEnv } from "../../../runtime/train/distributed.js";
import { freePort } from "../../../src/net.js";

describe("distributedEnv", () => {
  it("sets the torch.distributed env:// variables for one worker", () => {
    expect(distributedEnv({ workers: 4, rank: 2, masterAddr: "fraud-0.fraud", masterPort: 29500 })).toMatchObject({
      MASTER_ADDR: "fraud-0.fraud",
      MASTER_PORT: "29500",
      WORLD_SIZE: "4",
      RANK: "2",
      LOCAL_RANK: "0",
    });
  });

  it("sets processes per node from gpusPerWorker", () => {
    const env = distributedEnv({ workers: 2, rank: 0, masterAddr: "127.0.0.1", masterPort: 1, gpusPerWorker: 8 });
    expect(env.NPROC_PER_NODE).toBe("8");
    expect(env.LOCAL_WORLD_SIZE).toBe("8");
  });

  it("counts a CPU worker as one process per node", () => {
    expect(distributedEnv({ workers: 2, rank: 1, masterAddr: "h", masterPort: 1, gpusPerWorker: 0 }).NPROC_PER_NODE).toBe("1");
  });

  it("finds a free local port", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });
});
