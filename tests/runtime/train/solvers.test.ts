import { describe, expect, it } from "vitest";
import { fitLogisticRegression, type LogRegModel, type LogRegOptions } from "../../../runtime/train/logreg.js";
import { chooseSolver, type SolverName } from "../../../runtime/train/solver.js";
import { wideTable } from "./wide-data.js";

const OPTS = { l2: 1, maxIterations: 500, tolerance: 1e-10 };

function relativeGap(a: LogRegModel, b: LogRegModel): number {
  const diff = Math.hypot(...a.coef.map((c, j) => c - b.coef[j]!), a.intercept - b.intercept);
  return diff / Math.hypot(...b.coef, b.intercept);
}

describe("chooseSolver", () => {
  it("takes Newton on the (d+1)² Hessian for narrow tables", () => {
    expect(chooseSolver(1_000_000, 20, 1)).toBe("newton");
    expect(chooseSolver(455, 30, 1)).toBe("newton");
  });

  it("takes Newton through the n×n Gram matrix when the columns outnumber a few thousand rows", () => {
    expect(chooseSolver(240, 5000, 1)).toBe("newton-woodbury");
    expect(chooseSolver(80, 70_000, 1)).toBe("newton-woodbury");
  });

  it("takes L-BFGS when the table is both wide and tall", () => {
    expect(chooseSolver(100_000, 2000, 1)).toBe("lbfgs");
    expect(chooseSolver(20_000, 30_000, 1)).toBe("lbfgs");
  });

  it("never takes the Gram route without a penalty (it divides by λ)", () => {
    expect(chooseSolver(240, 5000, 0)).not.toBe("newton-woodbury");
  });
});

describe("the three solvers", () => {
  // Small enough that each solver runs in milliseconds; wide, so the Gram route applies.
  const t = wideTable(120, 300, 5);
  const fit = (solver: SolverName, extra: Partial<LogRegOptions> = {}) => fitLogisticRegression(t.X, t.y, t.n, t.d, { ...OPTS, solver, ...extra });
  const newton = fit("newton");

  it.each(["newton-woodbury", "lbfgs"] as const)("%s reaches the Hessian Newton's optimum within 1e-6 relative", (solver) => {
    const model = fit(solver);
    expect([model.solver, model.converged]).toEqual([solver, true]);
    expect(relativeGap(model, newton)).toBeLessThan(1e-6);
  });

  it("takes the same Newton steps through the Gram matrix as through the Hessian", () => {
    expect(fit("newton-woodbury").iterations).toBe(newton.iterations);
  });

  it.each(["newton", "newton-woodbury", "lbfgs"] as const)("%s resumes from a reported point, counting the iterations before it", (solver) => {
    let third: Float64Array | undefined;
    const full = fit(solver, { onProgress: (p) => p.iteration === 3 && (third = p.theta) });
    const resumed = fit(solver, { start: { theta: third!, iteration: 3 } });
    expect(resumed.converged).toBe(true);
    expect(resumed.iterations).toBeGreaterThan(3);
    expect(relativeGap(resumed, full)).toBeLessThan(1e-6);
  });

  it("fails when the Gram route is asked for without a penalty", () => {
    expect(() => fit("newton-woodbury", { l2: 0 })).toThrow(/solver: newton-woodbury needs l2 > 0; received 0/);
  });

  it("fails when a resume point has the wrong length", () => {
    expect(() => fit("newton", { start: { theta: [0, 1], iteration: 0 } })).toThrow(/start\.theta: must hold d \+ 1 = 301 values/);
  });
});
