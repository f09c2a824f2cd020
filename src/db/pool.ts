import pg from 'pg';
import type { Config } from '../config.js';
import { UnavailableError } from '../errors.js';

// bigint columns (row counts) fit in a JS number for any realistic job; parse them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// Postgres being away is told apart from every other database error here, where pg's errors enter,
// and only here: such an error becomes an UnavailableError (the original as its cause), which the
// api answers with 503 and the worker with a pause and a retry.
// SQLSTATEs: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, and the
// connection_exception class; errno codes: the socket's own failures.
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);
// Some of node-postgres's and pg-pool's connection failures carry no code, only a message:
// 'Connection terminated unexpectedly', 'Connection terminated due to connection timeout',
// 'timeout exceeded when trying to connect' (the pool's wait for a client). The server's own
// refusals ('the database system is starting up' / 'shutting down') normally come with 57P03 but
// are matched too, for a refusal read before its code.
const UNAVAILABLE_MESSAGE = /Connection terminated|connection timeout|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/i;

/** The error as the code above pg should see it: an UnavailableError when Postgres is away, else unchanged. */
export function classifyPgError(err: unknown): unknown {
  if (!err || err instanceof UnavailableError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const away = (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) || (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message));
  return away ? new UnavailableError('postgres', { cause: err }) : err;
}

type Callback = (err: unknown, ...rest: unknown[]) => void;
const classifying = (cb: Callback): Callback => (err, ...rest) => cb(classifyPgError(err), ...rest);
const rethrowClassified = (err: unknown): never => {
  throw classifyPgError(err);
};

// Every road by which a pg error reaches our code, and where it is classified:
//  - pool.connect() (promise or callback; also the pool's own wait for a client): Pool.connect;
//  - pool.query(): Pool.query (it also fails with the raw error of a client 'error' event, which
//    reaches it before the query's own failure, so the client's query() alone would not do);
//  - client.query() on a checked-out client, withTransaction's included: Client.query;
//  - submittables (COPY streams of pg-copy-streams, cursors), whose errors are emitted as 'error'
//    events: their handleError, which node-postgres calls with every error of the query.
// Subclasses handed to pg (the Client through the pool's `Client` option) rather than wrappers
// around call sites or a patch of pg's prototypes: everything built from createPool is covered,
// every other pg client (tests', scripts', the LISTEN connection) is left as it is, and callers
// keep the plain pg.Pool / pg.PoolClient types.
// (The overrides take `any`: pg's query() and connect() have a dozen overloads, passed through as they are.)
class ClassifyingClient extends pg.Client {
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config?.submit === 'function') {
      const handleError = config.handleError as ((err: unknown, ...rest: unknown[]) => void) | undefined;
      if (handleError) config.handleError = function (this: unknown, err: unknown, ...rest: unknown[]) {
        return handleError.call(this, classifyPgError(err), ...rest);
      };
      return super.query(config, values, callback);
    }
    if (typeof values === 'function') return super.query(config, classifying(values));
    if (typeof callback === 'function') return super.query(config, values, classifying(callback));
    if (typeof config?.callback === 'function') return super.query({ ...config, callback: classifying(config.callback) }, values);
    return super.query(config, values).catch(rethrowClassified);
  }
}

class ClassifyingPool extends pg.Pool {
  override connect(callback?: any): any {
    return callback ? super.connect(classifying(callback)) : super.connect().catch(rethrowClassified);
  }

  override query(config: any, values?: any, callback?: any): any {
    if (typeof values === 'function') return super.query(config, classifying(values));
    if (typeof callback === 'function') return super.query(config, values, classifying(callback));
    return super.query(config, values).catch(rethrowClassified);
  }
}

export function createPool(config: Pick<Config, 'databaseUrl'>, max = 10): pg.Pool {
  const pool = new ClassifyingPool({ connectionString: config.databaseUrl, max, connectionTimeoutMillis: 5000, Client: ClassifyingClient });
  // A client losing its connection (Postgres restart, admin shutdown) emits 'error'; with no
  // listener that would crash the process. pg-pool listens only while a client is idle, so each
  // client gets a listener of its own for the time it is checked out: the failure still reaches
  // the query in flight (it rejects), and pg-pool discards the broken client on release.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
