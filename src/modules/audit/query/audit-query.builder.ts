import { sqlLimit, sqlLiteral } from '../../../database/sql-literal';
import { AUDIT_ACTION_NAMES } from '../audit.catalogue';
import { tsText } from '../integrity/canonical';

/**
 * The SQL of the admin read API, built in one place so that the service and the query-plan test run
 * exactly the same statements. Every value is a parameter; only fixed SQL fragments are concatenated.
 */

export type SortOrder = 'desc' | 'asc';

/** Normalised filters (validated by the DTOs). Dates are ISO 8601 text, passed as `$n::timestamptz`. */
export interface AuditFilters {
  from?: string;
  to?: string;
  actorId?: string;
  actorType?: string;
  /** Exact (`task.created`) or a prefix (`task.*`). */
  action?: string;
  category?: string;
  resourceType?: string;
  resourceId?: string;
  outcome?: string;
  severity?: string;
  requestId?: string;
  /** An address or a CIDR. */
  ip?: string;
  q?: string;
  /** Errors view only: outcome error, or failure with severity error/critical. */
  errorsOnly?: boolean;
  errorType?: string;
}

/** A keyset position: the timestamp as text with microseconds (a JS Date would lose them). */
export interface KeysetPosition {
  occurredAt: string;
  id: string;
}

export interface BuiltQuery {
  sql: string;
  params: unknown[];
}

/** Must stay identical to the text column of the index audit_logs_search_idx (migrations AuditSearchByHour, AuditSearchPendingLimit). */
export const AUDIT_SEARCH_EXPRESSION = `(a.description || ' ' || coalesce(a.actor_display, '') || ' ' || coalesce(a.resource_display, ''))`;

/** Must stay identical to the first column of the index audit_logs_search_idx: the event's hour, UTC. */
export const AUDIT_SEARCH_HOUR = `date_trunc('hour', a.occurred_at AT TIME ZONE 'UTC')`;

/**
 * Whether event `a` is in the hash chain: not waiting in the sealer's queue (every inserted event is
 * queued by a trigger, in its own transaction, and leaves the queue when it is chained). A probe of the
 * queue's primary key per row (pages and the JSON exports). `OFFSET 0` keeps it a probe:
 * without it PostgreSQL may plan the EXISTS as a hashed subplan, which reads the WHOLE queue on every
 * page, since the choice is made for the filter's estimated rows, not the page's LIMIT (whenever the
 * queue's hash fits in work_mem: a backlog of a few thousand to ~100,000 events; measured on the 2 M
 * bench database, 7,000 queued rows: the newest page's statement 6.0 ms, 1.3 ms with the probe).
 */
export const SEALED_SQL = `(NOT EXISTS (SELECT 1 FROM audit_pending s WHERE s.seq = a.seq OFFSET 0))`;

/**
 * The item columns, with the timestamp as UTC text with microseconds and the IP as plain text;
 * `sealed` from SEALED_SQL, or from what the caller already knows (the feed reads chained events only).
 */
const itemColumns = (sealed: string): string => `a.id, a.seq::text AS seq,
  ${tsText('a.occurred_at')} AS occurred_at_text,
  a.action, a.category, a.outcome, a.severity, a.actor_type, a.actor_id, a.actor_display,
  a.resource_type, a.resource_id, a.resource_display, a.request_id, a.http_method, a.http_path,
  a.status_code, a.duration_ms, host(a.ip_address) AS ip, a.user_agent, a.changes, a.metadata,
  a.description, a.error_type, a.error_message, a.error_stack, ${sealed} AS sealed`;

export const AUDIT_ITEM_COLUMNS = itemColumns(SEALED_SQL);

/** One row as selected by AUDIT_ITEM_COLUMNS. */
export interface AuditItemRow {
  id: string;
  seq: string;
  occurred_at_text: string;
  action: string;
  category: string;
  outcome: string;
  severity: string;
  actor_type: string;
  actor_id: string | null;
  actor_display: string | null;
  resource_type: string | null;
  resource_id: string | null;
  resource_display: string | null;
  request_id: string | null;
  http_method: string | null;
  http_path: string | null;
  status_code: number | null;
  duration_ms: number | null;
  ip: string | null;
  user_agent: string | null;
  changes: Record<string, { from: unknown; to: unknown }> | null;
  metadata: Record<string, unknown>;
  description: string;
  error_type: string | null;
  error_message: string | null;
  /** Covered by the hash chain (the sealer fills the hash within about a second). */
  sealed: boolean;
  error_stack: string | null;
}

/** `\`, `%` and `_` escaped for LIKE/ILIKE (default escape character). */
export const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The catalogue actions a `prefix.*` filter stands for (served by the action index via `= ANY`). */
export function actionsForPrefix(prefix: string): string[] {
  return AUDIT_ACTION_NAMES.filter((a) => a.startsWith(`${prefix}.`));
}

/** Where a filter value goes: a bind parameter (`$n`), or an inline literal (COPY takes no parameters). */
interface ValueSink {
  add(value: unknown): string;
}

class Params implements ValueSink {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

class Literals implements ValueSink {
  add(value: unknown): string {
    return sqlLiteral(value);
  }
}

function whereClauses(f: AuditFilters, p: ValueSink): string[] {
  const w: string[] = [];
  if (f.from !== undefined) w.push(`a.occurred_at >= ${p.add(f.from)}::timestamptz`);
  if (f.to !== undefined) w.push(`a.occurred_at <= ${p.add(f.to)}::timestamptz`);
  if (f.actorId !== undefined) w.push(`a.actor_id = ${p.add(f.actorId)}`);
  if (f.actorType !== undefined) w.push(`a.actor_type = ${p.add(f.actorType)}`);
  if (f.action !== undefined) {
    if (f.action.endsWith('.*')) w.push(`a.action = ANY(${p.add(actionsOf(f.action))}::text[])`);
    else w.push(`a.action = ${p.add(f.action)}`);
  }
  if (f.category !== undefined) w.push(`a.category = ${p.add(f.category)}`);
  if (f.resourceType !== undefined) w.push(`a.resource_type = ${p.add(f.resourceType)}`);
  if (f.resourceId !== undefined) w.push(`a.resource_id = ${p.add(f.resourceId)}`);
  if (f.outcome !== undefined) w.push(`a.outcome = ${p.add(f.outcome)}`);
  if (f.severity !== undefined) w.push(`a.severity = ${p.add(f.severity)}`);
  if (f.requestId !== undefined) w.push(`a.request_id = ${p.add(f.requestId)}`);
  if (f.ip !== undefined) w.push(`a.ip_address <<= ${p.add(f.ip)}::inet`);
  if (f.q !== undefined) w.push(`${AUDIT_SEARCH_EXPRESSION} ILIKE ${p.add(`%${escapeLike(f.q)}%`)}`);
  if (f.errorType !== undefined) w.push(`a.error_type = ${p.add(f.errorType)}`);
  if (f.errorsOnly) {
    // The literal `outcome <> 'success'` lets the planner use the partial index audit_logs_not_success_idx.
    w.push(
      `a.outcome <> 'success' AND (a.outcome = 'error' OR (a.outcome = 'failure' AND a.severity IN ('error', 'critical')))`,
    );
  }
  return w;
}

function whereSql(clauses: string[]): string {
  return clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
}

export interface PageOptions {
  order: SortOrder;
  /** Rows to return (the service asks for one more to know whether a next page exists). */
  limit: number;
  after?: KeysetPosition;
  offset?: number;
  /**
   * A slice of time (ISO 8601): rows with occurred_at > above and ≤ atOrBelow (either may be open).
   * `byHour` (text searches, a slice bounded on both sides): also "from above's hour on" on the hour
   * column of audit_logs_search_idx, so that the index returns the term's matches from that hour on
   * instead of every match in the partition. A lower bound only: GIN answers a range by collecting every
   * row of every hour in it, and a range up to an upper bound starts at the oldest hour. So the range
   * also holds every row newer than the slice, and the newest slice (where a burst of events lands)
   * never gets one; see docs/performance.md, "Why the hour is in the search index".
   * `literal`: `above` written into the text as a literal instead of a parameter (the newest slice of a
   * first page, which the service starts on the hour: see AuditQueryService.sliced).
   * `hours` (a text search's newest slice, which has `above` and is a few hours long): also "in one of
   * the hours from above's to `through`'s", each hour an equality on the search index's hour column
   * (see searchHourList); `openEnded` (the page starts now, so the slice is open towards the future): "or
   * at or after the hour after `through`'s", read through the time index.
   */
  slice?: {
    above?: string;
    atOrBelow?: string;
    byHour?: boolean;
    literal?: boolean;
    hours?: { through: string; openEnded: boolean };
  };
  /**
   * The LIMIT as a literal in the SQL text instead of a parameter, for a statement meant to be cached
   * with a generic plan: with the LIMIT as a parameter, PostgreSQL costs a generic plan for 10 % of the
   * rows and never prefers it (a forced one pays JIT compilation: see docs/performance.md).
   */
  inlineLimit?: boolean;
  /**
   * The filter values (and `from`, `to`) as literals in the SQL text, the cursor's and the slice's
   * bounds still parameters: for a statement named after its text, so that a plan cached for it is
   * a plan for these values (see FILTERED_PAGE_KEY in the service).
   */
  inlineFilters?: boolean;
}

/** whereClauses for a page (a LIMIT): `from` as a lower time bound, unestimated unless `plainLower`. */
function pageWhere(f: AuditFilters, p: ValueSink, plainLower: boolean): string[] {
  const w = whereClauses({ ...f, from: undefined }, p);
  if (f.from !== undefined) w.unshift(lowerTimeBound(`${p.add(f.from)}::timestamptz`, plainLower));
  return w;
}

/**
 * The keyset condition: strictly after `after` in the page order. Oldest first, `after` is a lower
 * bound, unestimated unless `plainLower` (see lowerTimeBound).
 */
function keysetClause(after: KeysetPosition, order: SortOrder, p: ValueSink, plainLower = true): string {
  const ts = `${p.add(after.occurredAt)}::timestamptz`;
  const id = `${p.add(after.id)}::uuid`;
  // The single-column bound lets indexes that lead with a filter column (actor, action, …) use it too.
  if (order === 'desc') return `a.occurred_at <= ${ts} AND (a.occurred_at, a.id) < (${ts}, ${id})`;
  const at = plainLower ? ts : unestimated(ts);
  return `${lowerTimeBound(ts, plainLower)} AND (a.occurred_at, a.id) > (${at}, ${id})`;
}

/**
 * A value the planner cannot see (an InitPlan, evaluated once when the statement starts), so that it
 * estimates a time bound on it at a fixed third of the rows instead of from the statistics.
 */
const unestimated = (value: string): string => `(SELECT ${value})`;

/**
 * `a.occurred_at >= at`, a lower bound that may lie in the last minutes (`from`, an oldest-first
 * cursor). Unless `plain`: compared with an unestimated value, plus the first of its month as a
 * constant, which selects the monthly partitions when the statement is planned and nothing else.
 *
 * The statistics end at the last ANALYZE (AuditStatistics runs one each minute once 2 % of a partition,
 * at least 5,000 rows, has changed: up to 16,000 events of a month of 800,000, or a minute's worth,
 * are unknown at any time), so for a bound newer than that PostgreSQL estimates a few rows
 * above it, however many arrived since; on a page (a LIMIT) it then reads every one of them and sorts,
 * instead of reading the page in order from an index. Measured on the 2 M bench database with 30,000
 * `audit.viewed` events newer than the statistics, a bound in front of them: oldest first after the
 * cursor, no filter 72 → 3.3 ms (every row sorted: Append + Sort instead of a merge of the partitions'
 * time indexes), the burst's own actor 84 → 3.9 ms, `task.created` 12 → 2.7 ms (the time
 * index walked, the burst filtered out), `outcome=failure` 12 → 2.5 ms; `action=audit.viewed&from=…`
 * 38 → 4 ms in either order (a bitmap of the burst, sorted). A third of the rows overstates a recent
 * bound's share, which costs a page little: the ordered read stops at the LIMIT.
 *
 * Plain when the statement also has an upper time bound: PostgreSQL takes a lower and an upper bound
 * on one column as a range, and a range with an unknown end as 0.5 % of the rows, an underestimate
 * (measured: `task.*` in June oldest first, 2.7 → 89 ms).
 */
function lowerTimeBound(at: string, plain: boolean): string {
  if (plain) return `a.occurred_at >= ${at}`;
  const month = `date_trunc('month', ${at} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
  return `a.occurred_at >= ${unestimated(at)} AND a.occurred_at >= ${month}`;
}

/**
 * `a.occurred_at >= <the first of at's month>`, a literal: implied by a lower bound at `at`, and all a
 * statement's generic plan needs to leave out the older monthly partitions when it is planned (a
 * parameter, or an expression of one, prunes only when the plan runs, and a generic plan over every
 * partition costs as much as all of them). Measured at 10 M rows on the newest page's slice (five
 * partitions from `at`'s month on, sixteen in all): without it PostgreSQL's plan cache never chose
 * the generic plan (its estimate over sixteen partitions lost to the custom plans'), and each call
 * planned afresh, ~0.8–1.0 ms per EXECUTE in psql; with it the generic plan won from the sixth call
 * on, 0.31–0.44 ms. The text changes once a month: one more statement per connection. None outside
 * the years 1–9999 (no partition lies there, and an ISO text beyond them is not PostgreSQL's).
 */
function monthFloor(at: string): string[] {
  const d = new Date(at);
  const year = d.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) return [];
  const month = new Date(0);
  month.setUTCFullYear(year, d.getUTCMonth(), 1);
  return [`a.occurred_at >= ${sqlLiteral(month.toISOString())}::timestamptz`];
}

/** The catalogue actions an `action` filter stands for: itself, or every action of a `prefix.*`. */
function actionsOf(action: string): string[] {
  return action.endsWith('.*') ? actionsForPrefix(action.slice(0, -2)) : [action];
}

/** Whether `f` sets no filter but those named in `keys` (if any). */
export function onlyFilters(f: AuditFilters, keys: readonly (keyof AuditFilters)[]): boolean {
  return Object.entries(f).every(
    ([key, value]) => value === undefined || keys.includes(key as keyof AuditFilters),
  );
}

/** Whether `f` filters by action and by nothing else but time (`from`, `to`). */
function actionAndTimeOnly(f: AuditFilters): f is AuditFilters & { action: string } {
  return f.action !== undefined && onlyFilters(f, ['action', 'from', 'to']);
}

/**
 * One page of items, newest (or oldest) first, by keyset `(occurred_at, id)` or by offset.
 *
 * A keyset page filtered by action (and time) alone is read one action at a time: for each action of
 * the filter, its first rows in page order from the action index (`unnest` of the actions, a LATERAL
 * subquery with the page's bounds and LIMIT), then the page from those. Each action's rows are read in
 * order from `(action, occurred_at DESC)` whatever happened lately. As one statement over `action =
 * ANY(…)`, PostgreSQL estimated the page from the action's share of all rows and walked the time index,
 * filtering: after a burst of other events (an audited reader writes one per call) it read every one of
 * them (measured: 60,000 recent `audit.viewed` events, `user.*` 18.5 ms → 2.8 ms, `task.updated` 14.4 →
 * 2.4 ms; a rare action and `audit.viewed` itself unchanged, ~1.3 ms). Each action's first rows include
 * every row of it that belongs to the page, so the page is the one the single statement returns.
 */
export function buildPageQuery(filters: AuditFilters, page: PageOptions): BuiltQuery {
  const p = new Params();
  const values: ValueSink = page.inlineFilters ? new Literals() : p;
  const perAction = actionAndTimeOnly(filters) && !page.offset;
  const actions = perAction ? values.add(actionsOf(filters.action)) : undefined;
  // Lower time bounds unestimated unless there is an upper one (see lowerTimeBound).
  const plainLower =
    filters.to !== undefined ||
    page.slice?.atOrBelow !== undefined ||
    (!!page.after && page.order === 'desc');
  const w = pageWhere({ ...filters, action: perAction ? undefined : filters.action }, values, plainLower);
  if (actions !== undefined) w.push('a.action = f.action');
  if (page.after) w.push(keysetClause(page.after, page.order, p, plainLower));
  const slice = page.slice;
  const above =
    slice?.above === undefined ? undefined : slice.literal ? sqlLiteral(slice.above) : p.add(slice.above);
  // A literal bound prunes the partitions when the statement is planned; a parameter needs monthFloor.
  // A search's newest slice by the hour (slice.hours) leaves its lower bound to the hour list: as an
  // index condition it offered the planner the time index's bitmap of every row above it, which the
  // planner took when its statistics did not know a burst there (see searchHourList).
  if (above !== undefined && slice?.above !== undefined)
    w.push(
      `${slice.hours ? TIME_UNINDEXED : 'a.occurred_at'} > ${above}::timestamptz`,
      ...(slice.literal ? [] : monthFloor(slice.above)),
    );
  if (slice?.atOrBelow !== undefined) w.push(`a.occurred_at <= ${p.add(slice.atOrBelow)}::timestamptz`);
  if (slice?.byHour && above !== undefined && slice.atOrBelow !== undefined)
    w.push(`${AUDIT_SEARCH_HOUR} >= date_trunc('hour', ${above}::timestamptz AT TIME ZONE 'UTC')`);
  if (slice?.hours && slice.above !== undefined) w.push(searchHourList(slice.above, slice.hours, p));
  const dir = page.order === 'desc' ? 'DESC' : 'ASC';
  const order = `ORDER BY a.occurred_at ${dir}, a.id ${dir}`;
  const limit = `LIMIT ${page.inlineLimit ? sqlLimit(page.limit) : p.add(page.limit)}`;
  if (actions !== undefined) {
    const each = `SELECT * FROM audit_logs a ${whereSql(w)} ${order} ${limit}`;
    return {
      sql: `SELECT ${AUDIT_ITEM_COLUMNS} FROM unnest(${actions}::text[]) AS f(action) CROSS JOIN LATERAL (${each}) a ${order} ${limit}`,
      params: p.values,
    };
  }
  // An offset page computes its item columns (the queue probe, to_char, host) for the rows it returns
  // only: in one SELECT they would be computed for every skipped row too (offset 10,000 on the 2 M
  // bench database: 20 ms of execution, 4.6 ms this way).
  const sql = page.offset
    ? `SELECT ${AUDIT_ITEM_COLUMNS} FROM (SELECT * FROM audit_logs a ${whereSql(w)} ${order} ${limit} OFFSET ${p.add(page.offset)}) a ${order}`
    : `SELECT ${AUDIT_ITEM_COLUMNS} FROM audit_logs a ${whereSql(w)} ${order} ${limit}`;
  return { sql, params: p.values };
}

/** An hour in milliseconds. */
export const HOUR_MS = 3_600_000;

/** occurred_at in an expression no index matches: a bound on it filters rows, never selects them. */
const TIME_UNINDEXED = `(a.occurred_at + interval '0 s')`;

/** At most this many hours in a searchHourList: it is meant for a slice of a few hours. */
export const SEARCH_HOUR_LIST_MAX = 48;

/**
 * A text search's newest slice, by the hour: `<hour> = ANY(<every hour from above's to through's>)`
 * (UTC, the search index's first column), and when `openEnded` `OR occurred_at >= <the hour after
 * through's>` (events stamped ahead of the clock: the time index, where there are normally none). Each
 * listed hour is one exact key of audit_logs_search_idx beside the term's trigrams, so the index returns
 * the term's matches in those hours only, whatever else they hold. A burst of other events lands in
 * the newest hours, and without the list that slice read either every match of the term in the whole
 * partition (each a heap fetch and a recheck) or, with statistics older than the burst, a bitmap of
 * every row of the burst from the time index; a range of hours (`>=`, as byHour) would collect every
 * row of the burst too. Measured at 10 M rows, 394,000 events in the newest hour: that slice 60–140 ms,
 * 4.7–5.4 ms with the list (see docs/performance.md, "The newest slice of a search, hour by hour").
 */
function searchHourList(above: string, hours: { through: string; openEnded: boolean }, p: ValueSink): string {
  const first = Math.floor(Date.parse(above) / HOUR_MS);
  const last = Math.floor(Date.parse(hours.through) / HOUR_MS);
  if (!(last - first < SEARCH_HOUR_LIST_MAX))
    throw new Error(`searchHourList: ${above} … ${hours.through} is not a few hours`);
  const list: string[] = [];
  for (let h = first; h <= last; h++) list.push(new Date(h * HOUR_MS).toISOString().slice(0, 19));
  const inList = `${AUDIT_SEARCH_HOUR} = ANY(${p.add(list)}::timestamp[])`;
  if (!hours.openEnded) return inList;
  const after = new Date((last + 1) * HOUR_MS).toISOString();
  return `(${inList} OR a.occurred_at >= ${p.add(after)}::timestamptz)`;
}

/** The newest rows whose time span gives the recent rate of events (AuditQueryService.headRate). */
export const HEAD_RATE_ROWS = 1000;

/**
 * The time of the HEAD_RATE_ROWS-th newest event: an index walk from the newest. No parameters, so as a
 * prepared statement it is planned once per connection (planning it over every monthly partition cost
 * as much as running it: ~1.2 ms each at 2,000,000 rows).
 */
export const HEAD_RATE_SQL = `SELECT a.occurred_at AS at FROM audit_logs a
  ORDER BY a.occurred_at DESC, a.id DESC OFFSET ${HEAD_RATE_ROWS - 1} LIMIT 1`;

/**
 * The first phase of a text search (`q`, newest first): walk the newest `walkRows` rows that match
 * every other filter, in index order, and keep those whose text matches. The walk stops as soon as
 * the page is full, so a term that is frequent among recent events costs a few hundred rows; it never
 * reads more than `walkRows`. (The planner cannot tell "frequent overall" from "frequent lately": left
 * alone it walks the time index for a frequent term even when the newest match is millions of rows
 * back.)
 */
export function buildSearchWalkQuery(
  filters: AuditFilters,
  page: { limit: number; after?: KeysetPosition; walkRows: number; inlineLimit?: boolean },
): BuiltQuery {
  const { q, ...others } = filters;
  if (q === undefined) throw new Error('buildSearchWalkQuery: no q');
  const p = new Params();
  // Both LIMITs inline for a statement meant to be cached with a generic plan (see PageOptions.inlineLimit).
  const limit = (n: number): string => (page.inlineLimit ? sqlLimit(n) : p.add(n));
  const w = pageWhere(others, p, others.to !== undefined || page.after !== undefined);
  if (page.after) w.push(keysetClause(page.after, 'desc', p));
  const newest = `SELECT * FROM audit_logs a ${whereSql(w)} ORDER BY a.occurred_at DESC, a.id DESC LIMIT ${limit(page.walkRows)}`;
  const text = whereClauses({ q }, p).join(' AND ');
  return {
    sql: `SELECT ${AUDIT_ITEM_COLUMNS} FROM (${newest}) a WHERE ${text} ORDER BY a.occurred_at DESC, a.id DESC LIMIT ${limit(page.limit)}`,
    params: p.values,
  };
}

/** Every matching item in order, for a server-side cursor (the export). */
export function buildExportQuery(filters: AuditFilters, order: SortOrder): BuiltQuery {
  const p = new Params();
  const w = whereClauses(filters, p);
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  return {
    sql: `SELECT ${AUDIT_ITEM_COLUMNS} FROM audit_logs a ${whereSql(w)} ORDER BY a.occurred_at ${dir}, a.id ${dir}`,
    params: p.values,
  };
}

/**
 * Every matching row in order, for `COPY (SELECT <select> …) TO STDOUT`: the same WHERE as the search,
 * with the filter values inlined as literals (sqlLiteral), since COPY takes no bind parameters.
 */
export function buildCopySelect(filters: AuditFilters, order: SortOrder, select: string): string {
  const w = whereClauses(filters, new Literals());
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  return `SELECT ${select} FROM audit_logs a ${whereSql(w)} ORDER BY a.occurred_at ${dir}, a.id ${dir}`;
}

/** Exact count of matching rows; with `cap`, counts at most cap + 1 (enough to refuse an export). */
export function buildCountQuery(filters: AuditFilters, cap?: number): BuiltQuery {
  const p = new Params();
  const w = whereClauses(filters, p);
  if (cap === undefined)
    return { sql: `SELECT count(*)::bigint AS count FROM audit_logs a ${whereSql(w)}`, params: p.values };
  return {
    sql: `SELECT count(*)::bigint AS count FROM (SELECT 1 FROM audit_logs a ${whereSql(w)} LIMIT ${p.add(cap + 1)}) capped`,
    params: p.values,
  };
}

export const STATS_GROUPS = ['action', 'category', 'outcome', 'actor', 'day'] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];

/** The bucket key (and, for actors, a label) of each group. */
const GROUP_KEY: Record<StatsGroup, { key: string; label: string }> = {
  action: { key: 'a.action', label: 'NULL::text' },
  category: { key: 'a.category', label: 'NULL::text' },
  outcome: { key: 'a.outcome', label: 'NULL::text' },
  actor: { key: `coalesce(a.actor_id, a.actor_type)`, label: 'max(a.actor_display)' },
  day: { key: `to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`, label: 'NULL::text' },
};

export const MAX_STATS_BUCKETS = 1000;

/** Counts per group; days in date order, everything else most frequent first. */
export function buildStatsQuery(filters: AuditFilters, groupBy: StatsGroup): BuiltQuery {
  const p = new Params();
  const w = whereClauses(filters, p);
  const g = GROUP_KEY[groupBy];
  const order = groupBy === 'day' ? 'key ASC' : 'count DESC, key ASC';
  return {
    sql: `SELECT ${g.key} AS key, ${g.label} AS label, count(*)::bigint AS count FROM audit_logs a ${whereSql(w)} GROUP BY 1 ORDER BY ${order} LIMIT ${MAX_STATS_BUCKETS}`,
    params: p.values,
  };
}

/** A row of buildFeedQuery: a chain row with its event, or with NULL event columns when the event is gone. */
export type AuditFeedRow = { chain_pos: string; prev_hash: string; hash: string } & (
  AuditItemRow | { [K in keyof AuditItemRow]: null }
);

/**
 * The feed: the chain rows after chain position $1, in chain order, at most `limit`, each with its
 * event. Chain positions are handed out by one sealer at a time and each sealing transaction commits
 * its positions at once, so a reader always sees a prefix of the chain: paging by position never skips
 * an event, however late its own transaction committed (paging by occurred_at can: see
 * docs/audit-api.md). The plan: the first `limit` positions from a merge of the chain partitions'
 * primary keys, then one probe of each event's partition. (A plain join is estimated at one row, since
 * PostgreSQL multiplies the selectivities of seq and occurred_at, and planned as a hash join of the
 * whole chain with every event; OFFSET 0 keeps the probe from being flattened back into that join.)
 * A chain row whose event is gone (removed: verify reports it) comes back with NULL event columns, so
 * the page still moves past it. Every event read here is chained: `sealed` needs no probe of the queue.
 *
 * The LIMIT is inlined (see PageOptions.inlineLimit) so that the prepared statement gets a generic
 * plan: with `LIMIT $2` PostgreSQL's plan cache kept planning it for every call, over every partition
 * of both tables (measured on the 2 M bench database: 2.2 ms per call, 0.5 ms with the generic plan).
 */
export function buildFeedQuery(limit: number): string {
  return `SELECT ${itemColumns('true')}, c.chain_pos::text AS chain_pos,
    encode(c.prev_hash, 'hex') AS prev_hash, encode(c.hash, 'hex') AS hash
  FROM (SELECT c.chain_pos, c.seq, c.occurred_at, c.prev_hash, c.hash FROM audit_chain c
         WHERE c.chain_pos > $1::bigint ORDER BY c.chain_pos LIMIT ${sqlLimit(limit)}) c
  LEFT JOIN LATERAL (SELECT * FROM audit_logs e WHERE e.seq = c.seq AND e.occurred_at = c.occurred_at OFFSET 0) a ON true
  ORDER BY c.chain_pos`;
}

/** One item by id. */
export function buildItemQuery(id: string): BuiltQuery {
  return { sql: `SELECT ${AUDIT_ITEM_COLUMNS} FROM audit_logs a WHERE a.id = $1`, params: [id] };
}
