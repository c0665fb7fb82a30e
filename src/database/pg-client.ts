import { Client } from 'pg';

type QueryCallback = (err: Error | null, result: unknown) => void;
/** Client#query as node-postgres implements it (the overloads of @types/pg, flattened). */
type QueryMethod = (this: Client, config: unknown, values?: unknown, callback?: QueryCallback) => unknown;

const baseQuery = Client.prototype.query as unknown as QueryMethod;

function isSubmittable(config: unknown): boolean {
  return (
    typeof config === 'object' &&
    config !== null &&
    typeof (config as { submit?: unknown }).submit === 'function'
  );
}

/**
 * `query()` without a callback, resolved through node-postgres's callback form instead of the promise
 * node-postgres builds itself. Same arguments, same result, same errors.
 */
function query(this: Client, config: unknown, values?: unknown, callback?: QueryCallback): unknown {
  if (isSubmittable(config) || typeof values === 'function' || typeof callback === 'function')
    return baseQuery.call(this, config, values, callback);
  return new Promise((resolve, reject) => {
    baseQuery.call(this, config, values, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * The node-postgres client of the app's pools (TypeORM's `extra.Client`, which pg-pool uses to open
 * its connections), on the server and on the embedded database alike.
 *
 * Why: node-postgres's promise form builds its query object first and sets the callback that settles
 * the promise on it afterwards. Measured under the bench's read load (docs/performance.md, "Young
 * garbage"): with that form the rows of every query outlived their request in V8's young generation,
 * so each minor GC copied them and promoted them to the old generation, ~40 KB per 50-row page; minor
 * GCs took 5–8 ms instead of under 1 ms, and one request in ~25 paid for one. The same queries in the
 * callback form, settled by a promise made here, leave nothing behind (test/pg-client.e2e-spec.ts
 * checks the behaviour is unchanged: rows, errors, named statements, transactions).
 */
export class PgClient extends Client {}

Object.defineProperty(PgClient.prototype, 'query', { value: query, writable: true, configurable: true });
