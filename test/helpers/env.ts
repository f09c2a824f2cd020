import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { withDb } from '../globalSetup.js';

export interface TestEnv {
  config: Config;
  /** The environment to hand to child processes (api, workers) so they use this file's database and prefix. */
  env: Record<string, string>;
  pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * A fresh database cloned from the run's migrated template, and a Redis key prefix of its own.
 * `overrides` are environment variables, exactly as a deployment would set them.
 */
export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const run = inject('testRun');
  const name = `sluice_t_${run.runId}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: run.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${run.template}`);
  await admin.end();
  const env: Record<string, string> = {
    DATABASE_URL: withDb(run.adminUrl, name),
    REDIS_URL: run.redisUrl,
    REDIS_PREFIX: `sluice-t-${run.runId}-${randomBytes(3).toString('hex')}`,
    LOG_LEVEL: 'warn',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    MODEL_CACHE_DIR: `/tmp/sluice-test-models/${name}`,
    // A key of its own, as production has (without one the processes use the public development key).
    SECRETS_KEY: randomBytes(32).toString('base64'),
    // Metrics listeners on free ports of loopback, named in each process's readiness message: never a fixed port.
    METRICS_PORT: '0',
    WORKER_METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    // SIGTERM stops an api at once: a test about draining sets its own delay.
    SHUTDOWN_DRAIN_MS: '0',
    ...overrides,
  };
  const config = loadConfig(env);
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 5 });
  pool.on('error', () => {});
  return {
    config,
    env,
    pool,
    async close() {
      await pool.end();
    },
  };
}
