// What an evaluation job and a compare job cost (issue 14): the same labelled 1,000,000-row CSV
// scored three ways with one worker — plain, with label_column (figures taken per chunk in the
// worker, merged in the commit), and compared with a second version (every row scored by both
// models; the two feed their input alike, so the second runs on the same tensors).
import { benchModel, COLUMNS, csvRows, LABELS, median, registerModel, rng, startApi, type Tenant } from './common.js';
import { e2e, type E2eRun } from './e2e.js';
import { fixedWeights, mlpClassifier } from '../../test/fixtures/onnxBuilder.js';

export interface LifecycleFigures {
  plain: { runs: E2eRun[]; rowsPerSecond: number };
  evaluation: { runs: E2eRun[]; rowsPerSecond: number; ofPlain: number };
  compare: { runs: E2eRun[]; rowsPerSecond: number; ofPlain: number };
}

/** The bench CSV with a `label` column (one of the model's classes, drawn at random). */
export function labelledCsvBuffers(rows: number, seed = 1): Buffer[] {
  const out: Buffer[] = [Buffer.from(`${COLUMNS.join(',')},label\n`)];
  const per = 6000;
  const draw = rng(seed * 7 + 1);
  for (let done = 0; done < rows; done += per) {
    const lines = csvRows(Math.min(per, rows - done), seed + done).split('\n');
    lines.pop();
    out.push(Buffer.from(lines.map((l) => `${l},${LABELS[Math.floor(draw() * LABELS.length)]}\n`).join('')));
  }
  return out;
}

/** A retrained candidate: the bench model's shape and signature with other weights. */
function candidate() {
  const { signature } = benchModel();
  const onnx = mlpClassifier(
    [
      { weights: fixedWeights(64, 20, 11), bias: Array.from({ length: 64 }, (_, i) => ((i % 5) - 2) / 100) },
      { weights: fixedWeights(3, 64, 13), bias: [0.02, 0.01, -0.03] },
    ],
    { softmax: true },
  );
  return { onnx, signature };
}

export async function measureLifecycle(
  env: Record<string, string>, t: Tenant, rows: number, repeats: number, between: () => Promise<void>, log: (...a: unknown[]) => void,
): Promise<LifecycleFigures> {
  const api = await startApi(env);
  try {
    await registerModel(api.url, t, 'lifecycle');
    await registerModel(api.url, t, 'lifecycle', candidate());
  } finally {
    await api.stop();
  }
  const buffers = labelledCsvBuffers(rows, 17);
  const kinds = { plain: 'lifecycle:1', evaluation: 'lifecycle:1&label_column=label', compare: 'lifecycle:2&compare=lifecycle:1' } as const;
  const runs: Record<keyof typeof kinds, E2eRun[]> = { plain: [], evaluation: [], compare: [] };
  await between();
  // Interleaved, so a drift of the machine during the section touches all three alike.
  for (let i = 0; i < repeats; i++) {
    for (const [kind, query] of Object.entries(kinds) as [keyof typeof kinds, string][]) {
      log(`lifecycle: ${kind} job, ${rows} rows, run ${i + 1}/${repeats}…`);
      const r = await e2e(env, t, buffers, 1, {}, query);
      runs[kind].push(r);
      log(`${kind}: ${Math.round(r.rowsPerSecond)} rows/s (${r.seconds.toFixed(1)} s)`);
      await between();
    }
  }
  const rps = (k: keyof typeof kinds) => median(runs[k].map((r) => r.rowsPerSecond));
  const plain = rps('plain');
  return {
    plain: { runs: runs.plain, rowsPerSecond: plain },
    evaluation: { runs: runs.evaluation, rowsPerSecond: rps('evaluation'), ofPlain: rps('evaluation') / plain },
    compare: { runs: runs.compare, rowsPerSecond: rps('compare'), ofPlain: rps('compare') / plain },
  };
}
