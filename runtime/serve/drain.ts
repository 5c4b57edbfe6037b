/**
 * Stopping without losing a request the server has taken. What Kubernetes does when a pod goes away:
 * the pod is marked terminating and its address leaves the Service's endpoints, while the kubelet runs the
 * container's `preStop` hook and then sends SIGTERM; kube-proxy on every node and any load balancer in front
 * learn of the removal over the next seconds, and connections already open keep reaching the pod. So on
 * SIGTERM the server:
 *
 * 1. turns readiness false at once (for whatever still reads it) and puts `Connection: close` on every
 *    response from then on, so each keep-alive connection is closed by the server right after an answer,
 *    the one moment the client cannot be sending on it, and the client reconnects elsewhere;
 * 2. keeps accepting and answering as usual for `shutdownDelaySeconds` (skipped while no model is loaded:
 *    every request is refused then anyway), while the rest of the cluster stops sending;
 * 3. closes the listener, and the keep-alive connections that stayed idle through the whole delay;
 * 4. waits up to `drainSeconds` for the requests still in flight, cuts off what is left, and frees the model;
 * 5. writes the payload log's last records, if logging is on (for at most `logging.flushTimeoutSeconds`).
 *
 * ModelEndpoint puts the same delay in the container's `preStop.sleep`, so a pod first sleeps while the
 * endpoints update (the process does not know yet) and then moves its open keep-alive connections off with
 * step 1; outside Kubernetes (`docker stop`, systemd) step 2 alone does the waiting.
 */
import type { Server } from "node:http";
import type { Logger } from "../../src/log.js";
import type { ServeApp } from "./app.js";

export interface DrainTarget {
  readonly app: ServeApp;
  /** The main listener. */
  readonly server: Server;
  /** The metrics listener, when `/metrics` has a port of its own. */
  readonly metricsServer?: Server;
  readonly logger: Logger;
}

export interface DrainTimes {
  /** Step 2: seconds to keep accepting after readiness turned false. 0: close the listener at once. */
  readonly shutdownDelaySeconds: number;
  /** Step 4: the longest wait for requests in flight once the listener is closed. */
  readonly drainSeconds: number;
}

/** Runs the steps above; resolves once every connection is closed (or cut off) and the model freed. */
export async function drain(t: DrainTarget, times: DrainTimes): Promise<void> {
  const { app, server, logger } = t;
  app.startDraining();
  if (times.shutdownDelaySeconds > 0 && app.notLoadedReason() === undefined) {
    await sleep(times.shutdownDelaySeconds * 1000);
  }
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Node closes the idle keep-alive connections on close(); busy ones close after their response, which
  // carries `Connection: close` now that the app is draining.
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), times.drainSeconds * 1000))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    logger.warn("drain time is up; closing the connections still open", { drainSeconds: times.drainSeconds });
    server.closeAllConnections();
  }
  if (t.metricsServer) {
    // Scrapes were answered through the drain; one in progress now is not worth waiting for.
    const metricsClosed = new Promise<void>((resolve) => t.metricsServer!.close(() => resolve()));
    t.metricsServer.closeAllConnections();
    await metricsClosed;
  }
  await app.close();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
