import type pg from 'pg';

/** A job's merged figures, written by the transaction that ends it. */
export async function storeJobMetrics(client: pg.ClientBase, jobId: string, m: { evaluation: unknown; compareEvaluation: unknown; agreement: unknown }): Promise<void> {
  await client.query(`UPDATE jobs SET evaluation = $2, compare_evaluation = $3, agreement = $4 WHERE id = $1`, [
    jobId, JSON.stringify(m.evaluation), JSON.stringify(m.compareEvaluation), JSON.stringify(m.agreement),
  ]);
}
