// Single predictions (POST /v1/predictions with wait) kept in flight through every fault of
// `npm run chaos`. Each answer must be right or retryable: a 200 carries this record's own result
// (its passthrough id, the scores the same record got before any fault); a 202 names a job that
// must end with that result; a 503 or 429 (or a dropped connection) may be retried. A 500, a wrong
// result, or a job that an answer named but that never ends with its result is a failure.
import type pg from 'pg';
import { decodeResultRows, type StoredChunk } from '../src/results/resultRows.js';

const DISTINCT = 50;
const record = (n: number) => {
  const k = n % DISTINCT;
  return { id: String(n), a: (k % 97) / 10, b: (k % 13) - 6, c: (k * 7) % 31, d: k % 2 };
};

interface Answer {
  prediction: unknown;
  probabilities: Record<string, number>;
}

export interface PredictionSummary {
  sent: number;
  answered_200: number;
  answered_202_then_verified: number;
  retryable: Record<string, number>;
  wrong: number;
  lost: number;
  unexpected: Record<string, number>;
}

export async function startPredictionLoad(apiUrl: string, auth: Record<string, string>, model: string, clients = 2, pauseMs = 20) {
  const headers = { ...auth, 'content-type': 'application/json' };
  const post = (n: number, wait: number) =>
    fetch(`${apiUrl}/v1/predictions`, { method: 'POST', headers, body: JSON.stringify({ model, wait, inputs: [record(n)] }) });

  // The reference: each distinct record scored once before any fault.
  const reference: Answer[] = [];
  for (let k = 0; k < DISTINCT; k++) {
    const res = await post(k, 30);
    const body = (await res.json()) as { predictions?: Answer[] };
    if (res.status !== 200 || !body.predictions?.[0]) throw new Error(`reference prediction ${k}: ${res.status} ${JSON.stringify(body)}`);
    reference.push(body.predictions[0]);
  }
  const same = (a: Answer, n: number) => {
    const r = reference[n % DISTINCT];
    return a.prediction === r.prediction && Object.entries(r.probabilities).every(([c, p]) => Math.abs((a.probabilities?.[c] ?? NaN) - p) < 1e-6);
  };

  const summary: PredictionSummary = { sent: 0, answered_200: 0, answered_202_then_verified: 0, retryable: {}, wrong: 0, lost: 0, unexpected: {} };
  const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  const owed: { n: number; jobId: string }[] = []; // 202s: checked in Postgres at the end
  const answered: { n: number; jobId: string }[] = []; // 200s: their stored result is checked too
  const wrongOnes: string[] = [];
  let inFlight = 0;
  let stopping = false;
  let next = DISTINCT;

  const one = async () => {
    const n = next++;
    summary.sent++;
    inFlight++;
    try {
      const res = await post(n, 20);
      const text = await res.text();
      if (res.status === 200) {
        const body = JSON.parse(text) as { id: string; predictions: (Answer & { passthrough?: { id?: unknown } })[] };
        const p = body.predictions?.[0];
        if (body.predictions?.length === 1 && String(p.passthrough?.id) === String(n) && same(p, n)) {
          summary.answered_200++;
          answered.push({ n, jobId: body.id });
        } else {
          summary.wrong++;
          wrongOnes.push(`request ${n}: ${text.slice(0, 300)}`);
        }
      } else if (res.status === 202) owed.push({ n, jobId: (JSON.parse(text) as { id: string }).id });
      else if (res.status === 503 || res.status === 429) count(summary.retryable, String(res.status));
      else count(summary.unexpected, `${res.status} ${text.slice(0, 120)}`);
    } catch (err) {
      count(summary.retryable, `connection: ${(err as Error).message}`);
    } finally {
      inFlight--;
    }
  };
  const loops = Array.from({ length: clients }, async () => {
    while (!stopping) {
      await one();
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  });

  return {
    inFlight: () => inFlight,
    sent: () => summary.sent,
    /** Stops sending and waits for the answers in flight. */
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
    /** After stop(), once every job is final: checks every job an answer named, in Postgres. */
    async verify(query: <T extends pg.QueryResultRow>(sql: string, args?: unknown[]) => Promise<T[]>): Promise<PredictionSummary & { failures: string[] }> {
      const failures = [...wrongOnes];
      const all = [...answered.map((a) => ({ ...a, was: 200 })), ...owed.map((a) => ({ ...a, was: 202 }))];
      const jobs = await query<{ id: string; status: string; rows_succeeded: number }>(`SELECT id::text, status, rows_succeeded FROM jobs WHERE id = ANY($1::uuid[])`, [all.map((a) => a.jobId)]);
      const chunks = await query<StoredChunk & { job_id: string }>(
        `SELECT job_id::text, first_row::float8 AS first_row, row_count, rows, error FROM prediction_chunks WHERE job_id = ANY($1::uuid[])`,
        [all.map((a) => a.jobId)],
      );
      const jobOf = new Map(jobs.map((j) => [j.id, j]));
      const rowsOf = new Map<string, ReturnType<typeof decodeResultRows>>();
      for (const c of chunks) rowsOf.set(c.job_id, [...(rowsOf.get(c.job_id) ?? []), ...decodeResultRows(c)]);
      for (const a of all) {
        const job = jobOf.get(a.jobId);
        const rows = rowsOf.get(a.jobId) ?? [];
        const r = rows[0];
        const labels = Object.keys(reference[0].probabilities);
        const stored = r && r.scores && r.value !== null ? { prediction: labels[r.value], probabilities: Object.fromEntries(labels.map((l, i) => [l, r.scores![i]])) } : null;
        const good = job?.status === 'completed' && rows.length === 1 && String(r.passthrough?.[0]) === String(a.n) && stored !== null && same(stored, a.n);
        if (good) {
          if (a.was === 202) summary.answered_202_then_verified++;
          continue;
        }
        summary.lost++;
        failures.push(`request ${a.n} (answered ${a.was}, job ${a.jobId}): job ${job ? job.status : 'missing'}, ${rows.length} stored result(s)`);
      }
      return { ...summary, failures };
    },
  };
}
