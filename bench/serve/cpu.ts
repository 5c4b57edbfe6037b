// CPU time a server process used, read from Linux's scheduler statistics: every thread's time on a CPU
// (/proc/<pid>/task/<tid>/schedstat, first field, in ns), the main thread, libuv's pool and V8's helpers
// alike. On a machine shared with other work, CPU time per request moves far less than requests/s: it
// counts only what this process did, not how long it waited for a core. For a server whose one event
// loop is the bottleneck, requests/s is bounded by 1 / (CPU time per request), so the ratio of CPU time
// per request is the throughput ratio those two servers would have on a quiet machine.
import { readdirSync, readFileSync } from "node:fs";

/** Nanoseconds of CPU the process `pid` has used so far; undefined where /proc cannot tell (not Linux, gone). */
export function processCpuNs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    return total;
  } catch {
    return undefined;
  }
}
