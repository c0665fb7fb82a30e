import type { EntityManager } from 'typeorm';
import { sqlLiteral } from './sql-literal';

/** The part of a node-postgres client used here: a named (prepared) statement. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

function isPgClient(value: unknown): value is PgClient {
  return typeof value === 'object' && value !== null && typeof (value as PgClient).query === 'function';
}

interface Statement {
  name: string;
  /** Run successfully once on this client: it exists in the client's session. */
  prepared: boolean;
}
/**
 * Statement names per pg client and statement key. PostgreSQL keeps a prepared statement per session
 * and node-postgres remembers per client which names it has prepared; on the embedded database every
 * client shares PGlite's one session, so a reconnected client must not reuse an earlier client's name.
 */
const statements = new WeakMap<PgClient, Map<string, Statement>>();
let nextStatement = 0;

function statementOf(client: PgClient, key: string): Statement {
  let byKey = statements.get(client);
  if (!byKey) statements.set(client, (byKey = new Map<string, Statement>()));
  let statement = byKey.get(key);
  if (!statement) byKey.set(key, (statement = { name: `${key}_${++nextStatement}`, prepared: false }));
  return statement;
}

/**
 * Runs a hot, fixed statement as a named prepared statement: parsed (and, when PostgreSQL's plan
 * cache picks a generic plan, planned) once per connection instead of on every call. `key` names the
 * statement and must always go with the same `text`. In a transaction it runs on the transaction's
 * connection; outside one, on a pooled connection taken for this statement only (as
 * `manager.query` does).
 */
export async function preparedQuery<T>(
  manager: EntityManager,
  key: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  const own = !manager.queryRunner;
  try {
    const client: unknown = await runner.connect();
    if (!isPgClient(client)) return await manager.query<T[]>(text, values);
    const statement = statementOf(client, key);
    const result = await client.query({ name: statement.name, text, values });
    statement.prepared = true;
    return result.rows as T[];
  } finally {
    if (own) await runner.release();
  }
}

/**
 * The SQL `EXECUTE name(v1, v2, …)` of statement `key` with these values as literals, when that
 * statement is already prepared on the transaction's connection (preparedQuery ran it there);
 * otherwise, or when a value cannot be a literal (sqlLiteral refuses it), null. For a statement sent
 * in one simple-protocol message with others (TransactionRunner.atCommit): a bind parameter cannot
 * travel in such a message, a literal can, and the plan stays the prepared one.
 */
export async function preparedExecuteSql(
  manager: EntityManager,
  key: string,
  values: unknown[],
): Promise<string | null> {
  if (!manager.queryRunner) return null;
  const client: unknown = await manager.queryRunner.connect();
  const statement = isPgClient(client) ? statements.get(client)?.get(key) : undefined;
  if (!statement?.prepared) return null;
  try {
    // A Date as its instant in UTC (what pg would send as a parameter is the same instant).
    const literals = values.map((v) => sqlLiteral(v instanceof Date ? v.toISOString() : v));
    return `EXECUTE ${statement.name}(${literals.join(', ')})`;
  } catch {
    return null;
  }
}
