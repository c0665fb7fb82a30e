import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { sqlLiteral } from './sql-literal';

/** The part of a node-postgres client used here: a named (prepared) statement, or a plain one. */
interface PgClient {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

function isPgClient(value: unknown): value is PgClient {
  return typeof value === 'object' && value !== null && typeof (value as PgClient).query === 'function';
}

interface Statement {
  name: string;
  /** Run successfully once on this client: it exists in the client's session. */
  prepared: boolean;
  /** The budget it was named from (preparedTextQuery), if any. */
  budget?: string;
  /** When it last ran (Date.now()). */
  usedAt: number;
}
interface ClientStatements {
  byKey: Map<string, Statement>;
  /** The keys of preparedTextQuery's statements per budget, least recently used first. */
  byBudget: Map<string, Set<string>>;
}
/**
 * Statement names per pg client and statement key. PostgreSQL keeps a prepared statement per session
 * and node-postgres remembers per client which names it has prepared; on the embedded database every
 * client shares PGlite's one session, so a reconnected client must not reuse an earlier client's name.
 */
const statements = new WeakMap<PgClient, ClientStatements>();
let nextStatement = 0;

/**
 * Statements preparedTextQuery may name on one connection. Their SQL is built at run time and comes
 * in as many shapes as callers combine filters; past this many, a new shape runs unnamed, so the
 * session's prepared statements (and their cached plans) stay bounded. The fixed statements of
 * preparedQuery are few and never count against it.
 */
export const MAX_TEXT_STATEMENTS_PER_CONNECTION = 64;

/**
 * A text of a full budget unused this long gives its place to a new one: it is deallocated from the
 * session (DEALLOCATE, one round trip) and the new text is named. Texts that hold a time (a slice's
 * start on the hour, a month: see AuditQueryService.sliced) go out of use as time passes; without this,
 * a connection that lives for days would fill its budgets with them and run every new text unnamed.
 * A text used within this time keeps its place, so texts that take turns never churn.
 */
export const STALE_STATEMENT_MS = 10 * 60_000;

/**
 * A share of the texts preparedTextQuery names on one connection, counted apart from the others: its
 * `max` texts may be named, further ones run unnamed (or take the place of a stale one, see
 * STALE_STATEMENT_MS), and they never use up the default budget (MAX_TEXT_STATEMENTS_PER_CONNECTION)
 * of the fixed shapes.
 */
export interface TextBudget {
  name: string;
  max: number;
}

const DEFAULT_BUDGET: TextBudget = { name: 'default', max: MAX_TEXT_STATEMENTS_PER_CONNECTION };

function heldBy(client: PgClient): ClientStatements {
  let held = statements.get(client);
  if (!held) statements.set(client, (held = { byKey: new Map(), byBudget: new Map() }));
  return held;
}

/**
 * The names node-postgres has prepared on this client (its connection's `parsedStatements`, which it
 * consults to skip the Parse of a name it knows), or undefined when the client has no such record.
 */
function parsedNames(client: PgClient): Record<string, unknown> | undefined {
  const parsed = (client as { connection?: { parsedStatements?: unknown } }).connection?.parsedStatements;
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
}

/**
 * Makes room in `budget` for one more text: when it is full, deallocates its least recently used text
 * if that one is stale (STALE_STATEMENT_MS). False when there is no room.
 */
async function room(
  client: PgClient,
  held: ClientStatements,
  keys: Set<string>,
  budget: TextBudget,
  now: number,
): Promise<boolean> {
  if (keys.size < budget.max) return true;
  const [oldest] = keys;
  const old = held.byKey.get(oldest);
  const parsed = parsedNames(client);
  // Without node-postgres's record of what it prepared, a deallocated name could not be forgotten.
  if (!old || now - old.usedAt < STALE_STATEMENT_MS || !parsed) return false;
  if (parsed[old.name] !== undefined) {
    await client.query({ text: `DEALLOCATE "${old.name.replace(/"/g, '""')}"`, values: [] });
    delete parsed[old.name];
  }
  keys.delete(oldest);
  held.byKey.delete(oldest);
  return true;
}

/** The statement `key` names on `client`, made if need be; undefined when its budget has no room. */
async function statementOf(
  client: PgClient,
  key: string,
  budget: TextBudget | undefined,
): Promise<Statement | undefined> {
  const held = heldBy(client);
  const now = Date.now();
  let statement = held.byKey.get(key);
  if (!statement) {
    if (budget) {
      let keys = held.byBudget.get(budget.name);
      if (!keys) held.byBudget.set(budget.name, (keys = new Set()));
      if (!(await room(client, held, keys, budget, now))) return undefined;
    }
    statement = { name: `${key}_${++nextStatement}`, prepared: false, budget: budget?.name, usedAt: now };
    held.byKey.set(key, statement);
  }
  statement.usedAt = now;
  if (statement.budget !== undefined) {
    // Most recently used last.
    const keys = held.byBudget.get(statement.budget);
    keys?.delete(key);
    keys?.add(key);
  }
  return statement;
}

/**
 * `EXECUTE name(v1, v2, …)` with these values as literals, or null when a value cannot be a literal
 * (sqlLiteral refuses it). A Date as its instant in UTC (what pg would send as a parameter).
 */
function executeSql(name: string, values: unknown[]): string | null {
  try {
    const literals = values.map((v) => sqlLiteral(v instanceof Date ? v.toISOString() : v));
    return `EXECUTE ${name}(${literals.join(', ')})`;
  } catch {
    return null;
  }
}

/**
 * Runs `execute` (an EXECUTE of a prepared statement) with the statement's generic plan: one
 * simple-protocol message that sets plan_cache_mode for the transaction, executes, and sets it back
 * (to the session's own value), so no other statement of the transaction is affected. One round trip,
 * as a bound execution is.
 */
async function runGeneric<T>(client: PgClient, execute: string): Promise<T[]> {
  const results: unknown = await client.query({
    text: `SET LOCAL plan_cache_mode = force_generic_plan; ${execute}; SET LOCAL plan_cache_mode TO DEFAULT`,
    values: [],
  });
  // node-postgres answers a message of several statements with one result per statement.
  if (!Array.isArray(results) || results.length !== 3)
    throw new Error('a generic EXECUTE did not answer with three results');
  return (results[1] as { rows: T[] }).rows;
}

async function runNamed<T>(
  manager: EntityManager,
  key: string,
  budget: TextBudget | undefined,
  text: string,
  values: unknown[],
  generic = false,
): Promise<T[]> {
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  const own = !manager.queryRunner;
  try {
    const client: unknown = await runner.connect();
    const statement = isPgClient(client) ? await statementOf(client, key, budget) : undefined;
    if (!isPgClient(client) || !statement) return await manager.query<T[]>(text, values);
    // A generic plan from the second run on, in the caller's transaction (SET LOCAL needs one).
    const execute =
      generic && statement.prepared && !own && runner.isTransactionActive && values.length > 0
        ? executeSql(statement.name, values)
        : null;
    if (execute !== null) return await runGeneric<T>(client, execute);
    const result = await client.query({ name: statement.name, text, values });
    statement.prepared = true;
    return result.rows as T[];
  } finally {
    if (own) await runner.release();
  }
}

/**
 * Runs a hot, fixed statement as a named prepared statement: parsed (and, when PostgreSQL's plan
 * cache picks a generic plan, planned) once per connection instead of on every call. `key` names the
 * statement and must always go with the same `text`. In a transaction it runs on the transaction's
 * connection; outside one, on a pooled connection taken for this statement only (as
 * `manager.query` does).
 */
export function preparedQuery<T>(
  manager: EntityManager,
  key: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  return runNamed<T>(manager, key, undefined, text, values);
}

/**
 * preparedQuery for SQL built at run time: the statement is named `prefix` plus a digest of `text`, so
 * each distinct text is its own prepared statement on each connection, up to
 * MAX_TEXT_STATEMENTS_PER_CONNECTION of them (further texts run unnamed), or up to `budget.max` of
 * its own budget's.
 */
export function preparedTextQuery<T>(
  manager: EntityManager,
  prefix: string,
  text: string,
  values: unknown[],
  budget: TextBudget = DEFAULT_BUDGET,
): Promise<T[]> {
  return runNamed<T>(manager, textKey(prefix, text), budget, text, values);
}

/**
 * preparedTextQuery for a statement whose generic plan is known to serve every value it is run with:
 * from its second run on this connection, it runs with that plan (plan_cache_mode force_generic_plan,
 * for that one statement: see runGeneric), whatever PostgreSQL's plan cache would choose. The plan
 * cache compares estimated costs, and for a page below a cursor it kept planning every call (custom
 * plans: the generic plan's estimate counts the partitions that only the cursor's value leaves out, when
 * it runs), though the generic plan ran faster: measured at 10 M rows, 0.95 → 0.33 ms per call
 * (docs/performance.md, "Generic plans for pages below a cursor"). Outside a transaction, or with a
 * value that cannot be a literal, it runs as preparedTextQuery does.
 */
export function preparedGenericTextQuery<T>(
  manager: EntityManager,
  prefix: string,
  text: string,
  values: unknown[],
  budget: TextBudget = DEFAULT_BUDGET,
): Promise<T[]> {
  return runNamed<T>(manager, textKey(prefix, text), budget, text, values, true);
}

/** The statement key preparedTextQuery uses for `text`. */
export function textKey(prefix: string, text: string): string {
  return `${prefix}_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
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
  const statement = isPgClient(client) ? statements.get(client)?.byKey.get(key) : undefined;
  if (!statement?.prepared) return null;
  return executeSql(statement.name, values);
}
