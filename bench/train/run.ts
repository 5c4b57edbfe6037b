/**
 * `npm run bench:train`: the built-in logistic-regression trainer against scikit-learn's
 * LogisticRegression(solver="lbfgs") on the same tables, same split, same L2, in one run:
 *
 * - narrow: 1,000,000 × 20 (our Newton on the (d+1)² Hessian);
 * - wide: 300 × 5,000, more columns than rows (our Newton through the n×n Gram matrix).
 *
 *   npm run bench:train                    # both cases, best of 3 fits per side
 *   npm run bench:train -- --quick         # narrow at 200,000 rows, one fit per side (a smoke run); wide as always
 *   npm run bench:train -- --rows 200000 --repeats 5
 *
 * Bars (issue 3, section 6; issue 8, section 4): our fit time ≤ 1.5 × scikit-learn's, holdout AUCs equal
 * within 0.002, for each case.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { fitLogisticRegression, predictProba, type LogRegModel } from "../../runtime/train/logreg.js";
import { auc } from "../../runtime/train/metrics.js";
import { seededRandom } from "../../runtime/train/split.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const HOLDOUT_FRACTION = 0.2;
const SEED = 20240611;
const L2 = 1; // sklearn C = 1
const TOLERANCE = 1e-8; // the TrainSpec default
const MAX_ITERATIONS = 200; // the TrainSpec default
const TIME_RATIO_BAR = 1.5;
const AUC_BAR = 0.002;
const WIDE = { rows: 300, features: 5000 };

interface Args { rows: number; repeats: number }
interface Reference { fitSeconds: number; scalerSeconds: number; iterations: number; holdoutAuc: number; coef: number[]; intercept: number; threadpools: string[]; sklearn: string; numpy: string }
interface Table { X: Float64Array; y: Float64Array; n: number }
interface Case { name: string; rows: number; features: number; repeats: number }
interface Measured { c: Case; train: Table; holdout: Table; model: LogRegModel; ours: number[]; oursAuc: number; ref: Reference }

function parseArgs(argv: string[]): Args {
  const args: Args = { rows: 1_000_000, repeats: 3 };
  for (let i = 0; i < argv.length; i++) {
    const next = Number(argv[i + 1]);
    if (argv[i] === "--quick") (args.rows = 200_000), (args.repeats = 1);
    else if (argv[i] === "--rows" && Number.isInteger(next) && next >= 1000) (args.rows = next), i++;
    else if (argv[i] === "--repeats" && Number.isInteger(next) && next >= 1 && next <= 20) (args.repeats = next), i++;
    else throw new Error(`bench:train: unknown or bad argument ${argv[i]} (use --quick, --rows N ≥ 1000, --repeats 1..20)`);
  }
  return args;
}

/**
 * A realistic, non-separable table: `features` columns driven by 5 shared latent factors (so columns
 * correlate, some strongly), on scales from 0.01 to 100 with offsets, labels drawn from a logistic model
 * of the latent factors plus noise (AUC around 0.8 with enough rows), split at random into train and holdout.
 */
function generate(rows: number, features: number): { train: Table; holdout: Table } {
  const u = seededRandom(SEED);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const loadings = Array.from({ length: features }, () => Array.from({ length: 5 }, () => normal() * 0.8));
  const scales = Array.from({ length: features }, (_, j) => 10 ** ((j % 5) - 2));
  const offsets = Array.from({ length: features }, (_, j) => (j % 7) * 50 - 100);
  const beta = [1.0, -0.7, 0.5, 0.3, -0.2];
  const X = new Float64Array(rows * features);
  const y = new Float64Array(rows);
  const holdout = new Uint8Array(rows);
  const f = new Float64Array(5);
  let holdoutRows = 0;
  for (let i = 0; i < rows; i++) {
    let logit = -0.6 + 0.8 * normal();
    for (let k = 0; k < 5; k++) {
      f[k] = normal();
      logit += beta[k]! * f[k]!;
    }
    for (let j = 0; j < features; j++) {
      let v = normal();
      for (let k = 0; k < 5; k++) v += loadings[j]![k]! * f[k]!;
      X[i * features + j] = offsets[j]! + scales[j]! * v;
    }
    y[i] = u() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    if (u() < HOLDOUT_FRACTION) (holdout[i] = 1), holdoutRows++;
  }
  const take = (inHoldout: number, n: number): Table => {
    const t: Table = { X: new Float64Array(n * features), y: new Float64Array(n), n };
    for (let i = 0, r = 0; i < rows; i++) {
      if (holdout[i] !== inHoldout) continue;
      t.X.set(X.subarray(i * features, (i + 1) * features), r * features);
      t.y[r++] = y[i]!;
    }
    return t;
  };
  return { train: take(0, rows - holdoutRows), holdout: take(1, holdoutRows) };
}

function writeF64(path: string, a: Float64Array): void {
  writeFileSync(path, Buffer.from(a.buffer, a.byteOffset, a.byteLength)); // little-endian on x86/arm
}

/** Generates one case's table, fits it on both sides and scores both on the same holdout. */
async function measure(c: Case): Promise<Measured> {
  const { repeats } = c;
  console.log(`bench:train: ${c.name}: generating ${c.rows.toLocaleString("en-US")} × ${c.features.toLocaleString("en-US")} (seed ${SEED})…`);
  const { train, holdout } = generate(c.rows, c.features);
  const dir = mkdtempSync(join(tmpdir(), "mlops-bench-train-"));
  try {
    writeF64(join(dir, "x_train.f64"), train.X);
    writeF64(join(dir, "y_train.f64"), train.y);
    writeF64(join(dir, "x_holdout.f64"), holdout.X);
    writeF64(join(dir, "y_holdout.f64"), holdout.y);

    // Ours: the arrays are in memory already, so the timing is the fit alone (validation,
    // standardization and the solve), best of `repeats`.
    let model: LogRegModel | undefined;
    const ours: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      model = fitLogisticRegression(train.X, train.y, train.n, c.features, { l2: L2, maxIterations: MAX_ITERATIONS, tolerance: TOLERANCE });
      ours.push((performance.now() - t0) / 1000);
    }
    const oursAuc = auc(holdout.y, predictProba(model!, holdout.X, holdout.n, c.features));

    // OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set on this machine for old OpenBLAS builds and slow a
    // current numpy: unset for the reference alone, so scikit-learn runs its best kernel.
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const { stdout } = await execa(
      "/usr/bin/python3",
      [join(HERE, "sklearn_ref.py"), "--dir", dir, "--rows", String(train.n), "--holdout-rows", String(holdout.n),
        "--features", String(c.features), "--l2", String(L2), "--repeats", String(repeats)],
      { env, extendEnv: false, timeout: 600_000 },
    );
    const ref = JSON.parse(stdout.trim().split("\n").pop()!) as Reference;
    return { c, train, holdout, model: model!, ours, oursAuc, ref };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cases: Case[] = [
    { name: "narrow", rows: args.rows, features: 20, repeats: args.repeats },
    // A second or so per fit on each side: best of at least 5 even in a quick run (the first fits warm the JIT up).
    { name: "wide", ...WIDE, repeats: Math.max(5, args.repeats) },
  ];
  const measured: Measured[] = [];
  for (const c of cases) measured.push(await measure(c));
  report(measured);
}

const SOLVER_WORDS: Record<LogRegModel["solver"], string> = {
  newton: "Newton on the (d+1)² Hessian",
  "newton-woodbury": "Newton through the n×n Gram matrix",
  lbfgs: "L-BFGS",
};

function report(measured: Measured[]): void {
  const verdict = (ok: boolean): string => (ok ? "PASS" : "MISS");
  const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;
  const count = (n: number): string => n.toLocaleString("en-US");
  const lines = [
    `# bench:train — ${new Date().toISOString()}`,
    "",
    `L2 λ = ${L2} (sklearn C = ${1 / L2}); tables synthetic (seed ${SEED}; 5 latent factors, correlated, not separable by them), ` +
      `split at random ${1 - HOLDOUT_FRACTION}/${HOLDOUT_FRACTION}. Times: best of the repeats given per case; loading the data is excluded on both sides.`,
  ];
  const bars: string[] = ["| case | bar | measured | result |", "| --- | --- | --- | --- |"];
  for (const { c, train, holdout, model, ours, oursAuc, ref } of measured) {
    const oursSeconds = Math.min(...ours);
    const ratio = oursSeconds / ref.fitSeconds;
    const aucGap = Math.abs(oursAuc - ref.holdoutAuc);
    const coefGap = Math.hypot(...ref.coef.map((v, j) => model.coef[j]! - v)) / Math.hypot(...ref.coef);
    lines.push(
      "",
      `## ${c.name}: ${count(c.rows)} × ${count(c.features)}, train ${count(train.n)} / holdout ${count(holdout.n)} rows, best of ${c.repeats}`,
      "",
      "| | fit time | iterations | holdout AUC |",
      "| --- | --- | --- | --- |",
      `| built-in (TypeScript, 1 thread; validation + standardization + ${SOLVER_WORDS[model.solver]}, tol ${TOLERANCE} on the gradient) | ${ms(oursSeconds)} | ${model.iterations} | ${oursAuc.toFixed(6)} |`,
      `| scikit-learn ${ref.sklearn} LogisticRegression(lbfgs, tol 1e-4) on pre-standardized data | ${ms(ref.fitSeconds)} | ${ref.iterations} | ${ref.holdoutAuc.toFixed(6)} |`,
      `| scikit-learn StandardScaler (not in the ratio) | ${ms(ref.scalerSeconds)} | | |`,
      "",
      `Coefficients (standardized): ‖ours − sklearn‖/‖sklearn‖ = ${coefGap.toExponential(2)} (sklearn stops at its looser tol). Our fits: ${ours.map(ms).join(", ")}.`,
    );
    bars.push(
      `| ${c.name} | fit time ≤ ${TIME_RATIO_BAR}× scikit-learn | ${ratio.toFixed(2)}× | ${verdict(ratio <= TIME_RATIO_BAR)} |`,
      `| ${c.name} | holdout AUC equal within ${AUC_BAR} | ${aucGap.toExponential(2)} | ${verdict(aucGap <= AUC_BAR)} |`,
    );
  }
  const ref = measured[0]!.ref;
  lines.push(
    "",
    "## Bars",
    "",
    ...bars,
    "",
    `scikit-learn thread pools: ${ref.threadpools.join(", ")} (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for the reference only); ` +
      `numpy ${ref.numpy}; node ${process.version}.`,
  );
  const text = lines.join("\n") + "\n";
  console.log(text);
  const out = join(process.cwd(), ".bench", `train-${new Date().toISOString().replace(/[:.]/g, "-")}.md`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  console.log(`written to ${out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
