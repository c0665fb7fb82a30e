import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import {
  NotFoundError,
  UnprocessableError,
  ValidationFailedError,
} from '../../../common/errors/domain-error';
import { AppConfig } from '../../../config/app-config';
import type { Tx } from '../../../database/transaction';
import { watchStall } from '../../../common/utils/stall-watch';
import { setLocal, type SqlQuery } from '../../../database/local-settings';
import {
  preparedGenericTextQuery,
  preparedQuery,
  preparedTextQuery,
  type TextBudget,
} from '../../../database/prepared-statement';
import { AuditService } from '../audit.service';
import { AuditCursorCodec } from './audit-cursor';
import type { PoolClient } from 'pg';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner.js';
import { buildCopyExport, copyExport } from './audit-export.copy';
import { CSV_HEADER, csvRow, toItem } from './audit-export.format';
import {
  AuditFilters,
  AuditItemRow,
  buildCountQuery,
  buildExportQuery,
  buildFeedQuery,
  buildItemQuery,
  buildPageQuery,
  buildSearchWalkQuery,
  HEAD_RATE_ROWS,
  HEAD_RATE_SQL,
  HOUR_MS,
  type AuditFeedRow,
  buildStatsQuery,
  KeysetPosition,
  onlyFilters,
  SortOrder,
} from './audit-query.builder';
import type {
  AuditErrorsQueryDto,
  AuditExportQueryDto,
  AuditFeedQueryDto,
  AuditFilterQueryDto,
  AuditListQueryDto,
  AuditStatsQueryDto,
  ExportFormat,
} from './dto/audit-query.dto';
import type {
  AuditFeedItemDto,
  AuditFeedPageDto,
  AuditLogItemDto,
  AuditLogPageDto,
  AuditStatsDto,
} from './dto/audit-log.dto';

/** Rows the first phase of a text search walks, newest first (see buildSearchWalkQuery). */
export const SEARCH_WALK_ROWS = 1000;
/**
 * The second phase's slices of time, newest first: the last hour, then back to 4, 16, 32, 64, 512 and
 * 4,096 hours, then the rest. Close to the present they grow by 2–4× only: once the term's matches
 * begin, the slice that fills the page reads at most a few times the rows it needs (each match read
 * costs a heap fetch and a recheck, ~3 µs), while an empty slice costs a statement (~1 ms).
 */
export const SEARCH_SLICE_HOURS = [1, 4, 16, 32, 64, 512, 4096] as const;
/**
 * A slice also asks the search index for "from the slice's first hour on" (`byHour`; never the newest
 * slice, which is open towards the future and where bursts land) while that range holds at most this
 * many rows by the estimate of headRate: GIN first collects every row of the range (~20 ns a row),
 * and the range runs from the slice to now, newer rows included.
 */
export const SEARCH_BY_HOUR_MAX_ROWS = 200_000;
/** A newest-first page first reads this many hours before its start (see newestFirst). */
export const RECENT_SLICE_HOURS = 7 * 24;

/** Statement key of HEAD_RATE_SQL (see headRate). */
const HEAD_RATE_KEY = 'audit_head_rate';
/** Statement key prefix of the newest-first pages pinned to one resource or one request (see newestFirst). */
export const PINNED_PAGE_KEY = 'audit_page';

/**
 * Statement key prefix of the newest slice of pages filtered by time only (`from`, `to`, a cursor) or
 * not at all. With no other filter the plan does not depend on the values (a walk of the time index,
 * newest first, in the partitions the bounds leave), so the statement is named and PostgreSQL's plan
 * cache (plan_cache_mode auto) may keep a generic plan per connection from the sixth run on, its
 * partitions pruned when it runs. It does for the newest page itself (no cursor, no `to`: open towards
 * the future, five partitions to plan): measured on the 2 M bench database, planning ~1.0 ms and
 * execution 0.37 ms per call, the named statement 2.3 → 1.2 ms. At 10 M rows it did so only once the
 * slice's month became a literal in the text (monthFloor in the builder): the generic plan then holds
 * the slice's partitions only, not all sixteen. A slice below a cursor or `to` is
 * pruned to one or two partitions at plan time; its custom plans cost less and are kept (the name
 * still saves the parse). Pages with a filter value (actor, action, outcome, …) never share this
 * statement: a generic plan chosen for the first values seen could walk the time index for a rare one
 * (measured: outcome=error 2.6 → 5.5 ms; a value matching nothing would walk every partition); see
 * FILTERED_PAGE_KEY. The LIMIT is inlined (PageOptions.inlineLimit). A first page's slice now starts
 * on the hour, as a literal (NAMED_SLICE_START): without `from` or `to` the statement then has no
 * parameter and is planned once per connection and hour.
 */
export const GENERIC_PAGE_KEY = 'audit_newest';

/**
 * Statement key prefix of the newest slice of a page filtered by values (actor, action, outcome, …;
 * not `q`, not a pinned resource or request): named after its text, in which those values and `from`,
 * `to` are literals and only the slice's and the cursor's bounds are parameters (PageOptions.inlineFilters).
 * A plan PostgreSQL's plan cache keeps for it is planned for these values, unlike the generic plan of one
 * statement for every value (see GENERIC_PAGE_KEY). Measured at 10 M rows, 40 calls each on one
 * connection: the bench's heavy actor + 30 days got its generic plan from the sixth call, 1.28–1.96 →
 * 0.56–0.90 ms per call; for `user.*` and `outcome=failure` the plan cache kept custom plans, as
 * unnamed (1.1–2.7 ms either way), until a first page's slice started on the hour as a literal
 * (NAMED_SLICE_START): without a parameter the statement is planned once. A connection names at most
 * FILTERED_PAGE_BUDGET.max such texts; further ones run unnamed (or take a stale text's place:
 * STALE_STATEMENT_MS) and never take names from the fixed shapes' budget.
 */
export const FILTERED_PAGE_KEY = 'audit_filtered';
export const FILTERED_PAGE_BUDGET: TextBudget = { name: FILTERED_PAGE_KEY, max: 16 };

/**
 * Statement key prefix of a text search's first phase (buildSearchWalkQuery) when no filter but the
 * text and time bounds it: the walk of the newest rows has one plan whatever the term (the term only
 * filters the walked rows), so as for GENERIC_PAGE_KEY the statement is named, its LIMITs inlined, and
 * the plan cache keeps a generic plan from the sixth run on. Unnamed, the walk was planned over every
 * monthly partition on each call: measured on the 2 M bench database, 1.2 ms named against 2.1 ms.
 */
export const SEARCH_WALK_KEY = 'audit_search_walk';

/**
 * The newest slice of a first page (no cursor) read by a named statement (GENERIC_PAGE_KEY,
 * FILTERED_PAGE_KEY) starts on the hour at or before RECENT_SLICE_HOURS before the page's start (up to
 * an hour more than that), and its start is a literal in the text, not a parameter. The text is then the
 * same for an hour and has no parameter at all when the filters are literals too: PostgreSQL plans it
 * once per connection and keeps that plan (a statement without parameters has no custom plans), where a
 * parameter left the plan cache choosing, call by call, between a generic plan and planning afresh. It
 * kept planning afresh for `user.*` and `outcome=failure`: measured at 10 M rows, each call planned in
 * 0.6–1.0 ms for 0.35–1.5 ms of execution. A page below a cursor keeps the parameter (each page's bound
 * differs). The slices stay disjoint and in order: the next slice ends where this one starts.
 */
const NAMED_SLICE_START = HOUR_MS;

/** The start of a slice `ms` (`onTheHour`: the hour at or before it, see NAMED_SLICE_START). */
function sliceStart(ms: number, onTheHour: boolean): number {
  return onTheHour ? Math.floor(ms / NAMED_SLICE_START) * NAMED_SLICE_START : ms;
}

/** Whether `filters` bound the page by time only (`from`, `to`), if at all. */
function timeOnly(filters: AuditFilters): boolean {
  return onlyFilters(filters, ['from', 'to']);
}

/**
 * Statement key prefix of the feed (buildFeedQuery): a named prepared statement per page size (the
 * LIMIT is inlined), whose generic plan serves every position.
 */
export const FEED_KEY = 'audit_feed';

/** Rows per FETCH of the export cursor: memory stays flat whatever the export's size. */
export const EXPORT_BATCH_ROWS = 1000;

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export interface PreparedExport {
  filters: AuditFilters;
  order: SortOrder;
  format: ExportFormat;
  rows: number;
  filename: string;
}

const FILTER_KEYS = [
  'from',
  'to',
  'actorId',
  'actorType',
  'action',
  'category',
  'resourceType',
  'resourceId',
  'outcome',
  'severity',
  'requestId',
  'ip',
  'q',
] as const;

function filtersOf(dto: AuditFilterQueryDto): AuditFilters {
  const filters: AuditFilters = {};
  for (const key of FILTER_KEYS) if (dto[key] !== undefined) filters[key] = dto[key];
  return filters;
}

function checkRange(filters: { from?: string; to?: string }): void {
  if (filters.from && filters.to && Date.parse(filters.from) > Date.parse(filters.to))
    throw new ValidationFailedError('from must not be after to');
}

/** `20261101T000000Z`: a timestamp fit for a file name. */
function fileStamp(iso: string): string {
  return new Date(iso)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Where a newest-first page starts, in ms: the cursor, else `to` when it is in the past, else now. */
function pageTop(filters: AuditFilters, after: KeysetPosition | undefined): number {
  if (after) return Date.parse(after.occurredAt);
  return Math.min(Date.now(), filters.to !== undefined ? Date.parse(filters.to) : Infinity);
}

/** Waits until the sink drains, or reports that the client went away. */
async function drained(sink: Writable): Promise<boolean> {
  if (sink.destroyed) return false;
  const ac = new AbortController();
  try {
    const result = await Promise.race([
      once(sink, 'drain', { signal: ac.signal }).then(() => true),
      once(sink, 'close', { signal: ac.signal }).then(() => false),
    ]);
    return result && !sink.destroyed;
  } finally {
    ac.abort();
  }
}

/**
 * The admin read side of the trail: search, the errors view, the streamed export and the stats. Every
 * query runs in the request's transaction (`txHost.tx`), and each call describes itself to the
 * request's audit event (audit.viewed / audit.exported) through AuditService.
 */
@Injectable()
export class AuditQueryService {
  private readonly cursors: AuditCursorCodec;

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {
    this.cursors = new AuditCursorCodec(config.auditSigningKey);
  }

  private position(
    cursor: string | undefined,
    order: SortOrder,
    filters: AuditFilters,
  ): KeysetPosition | undefined {
    if (cursor === undefined) return undefined;
    const decoded = this.cursors.decode(cursor, order, filters);
    if (decoded.ok) return decoded.position;
    throw new ValidationFailedError(
      decoded.reason === 'mismatch'
        ? 'cursor was issued for other filters or another order'
        : 'cursor is invalid (garbled, forged or edited)',
    );
  }

  private async page(
    filters: AuditFilters,
    order: SortOrder,
    limit: number,
    cursor: string | undefined,
    offset: number | undefined,
    includeTotal: boolean,
  ): Promise<AuditLogPageDto> {
    if (cursor !== undefined && offset)
      throw new ValidationFailedError('cursor and offset cannot be combined');
    const after = this.position(cursor, order, filters);
    let rows: AuditItemRow[];
    if (filters.q !== undefined && order === 'desc' && !offset)
      rows = await this.searchNewest(filters, limit + 1, after);
    else if (order === 'desc' && !offset) rows = await this.newestFirst(filters, limit + 1, after);
    else {
      const q = buildPageQuery(filters, { order, limit: limit + 1, after, offset });
      rows = await this.txHost.tx.query<AuditItemRow[]>(q.sql, q.params);
    }
    const items = rows.slice(0, limit).map(toItem);
    const last = items[items.length - 1];
    let nextCursor: string | null = null;
    if (last && (rows.length > limit || order === 'asc'))
      nextCursor = this.cursors.encode({ occurredAt: last.occurredAt, id: last.id }, order, filters);
    // A tail (asc) that found nothing new keeps its place.
    else if (!last && order === 'asc' && cursor !== undefined) nextCursor = cursor;
    const result: AuditLogPageDto = { items, limit, nextCursor };
    if (includeTotal) result.total = await this.count(filters);
    this.audit.addMetadata({ rowCount: items.length, ...(includeTotal ? { total: result.total } : {}) });
    return result;
  }

  /**
   * A newest-first page in at most two statements: the RECENT_SLICE_HOURS before the page's start
   * (the cursor, else `to` when it is in the past, else now; no upper bound of its own, so events
   * stamped ahead of this clock are found), then, only if that did not fill the page, everything older.
   * The time bound lets the planner prune the monthly partitions at plan time: one or two to plan and
   * open instead of all of them (measured at 2 M rows: action prefix 3.2 → 1.0 ms planning +
   * execution, newest page 0.65 → 0.34 ms). The two slices are disjoint and in order, so their rows
   * concatenate into the page one statement would return.
   */
  private async newestFirst(
    filters: AuditFilters,
    want: number,
    after: KeysetPosition | undefined,
  ): Promise<AuditItemRow[]> {
    // A filter pinning one resource or one request stays one statement: such events are few and spread
    // out, so the recent slice would seldom fill the page and the second statement would cost more than
    // pruning saves (measured on the bench's resource history: p50 +1.2 ms).
    if (filters.resourceId === undefined && filters.requestId === undefined)
      return this.sliced(filters, want, after, [RECENT_SLICE_HOURS]);
    // Without a time bound the statement is planned over every monthly partition: at 16 partitions
    // ~1.0 ms of planning for ~0.25 ms of execution. As a named statement it runs with one generic plan
    // per connection from its second run on (preparedGenericTextQuery; PostgreSQL's plan cache alone
    // chose that plan from the sixth run on); its partitions are pruned when it runs.
    const q = buildPageQuery(filters, { order: 'desc', limit: want, after });
    return preparedGenericTextQuery<AuditItemRow>(this.txHost.tx, PINNED_PAGE_KEY, q.sql, q.params);
  }

  /**
   * The newest `want` rows matching a text search (`q`), in two phases. 1: walk the newest rows in
   * index order (at most SEARCH_WALK_ROWS; enough when the term is frequent lately). 2: otherwise the
   * search index (hour + trigrams), through bitmap scans only (index and sequential scans off for these
   * statements), one slice of time at a time, newest first, until the page is full: each slice reads
   * only the partitions it covers and only the matches inside it (the index's matches from the slice's
   * first hour on while few rows are newer than that hour, else the trigram matches ANDed with the time
   * index; see SEARCH_BY_HOUR_MAX_ROWS). A rare term costs about what one unsliced search would; a term
   * that is frequent overall but absent from recent events no longer walks the whole recent past row by
   * row. Slices are disjoint and in order, so their rows concatenate into the same page a single
   * statement would return.
   */
  private async searchNewest(
    filters: AuditFilters,
    want: number,
    after: KeysetPosition | undefined,
  ): Promise<AuditItemRow[]> {
    const tx = this.txHost.tx;
    // With no filter but the text (and time), the walk's plan does not depend on the values: a named
    // statement, planned once per connection (see SEARCH_WALK_KEY).
    const generic = timeOnly({ ...filters, q: undefined });
    const walk = buildSearchWalkQuery(filters, {
      limit: want,
      after,
      walkRows: SEARCH_WALK_ROWS,
      inlineLimit: generic,
    });
    const walked = generic
      ? await preparedTextQuery<AuditItemRow>(tx, SEARCH_WALK_KEY, walk.sql, walk.params)
      : await tx.query<AuditItemRow[]>(walk.sql, walk.params);
    if (walked.length >= want) return walked;

    // Read with index scans still on: it walks the time index.
    const now = Date.now();
    const perMs = await this.headRate(now);
    const byHour = (aboveMs: number): boolean => (now - aboveMs) * perMs <= SEARCH_BY_HOUR_MAX_ROWS;

    const query: SqlQuery = (sql, params) => tx.query(sql, params);
    const saved = await setLocal(query, [
      ['enable_indexscan', 'off'],
      ['enable_seqscan', 'off'],
      // The oldest slices are costed high enough to trigger JIT compilation (~0.1 s), never worth it here.
      ['jit', 'off'],
    ]);
    const rows = await this.sliced(filters, want, after, SEARCH_SLICE_HOURS, { byHour });
    // Back to the planner's normal choices for the rest of the request.
    await setLocal(query, saved);
    return rows;
  }

  /**
   * The newest `want` rows, one slice of time per statement, newest first, until the page is full: the
   * slices end `hours` before the page's start (the cursor, else `to` when it is in the past, else now),
   * then the rest. The newest slice has no upper bound of its own, so events stamped ahead of this clock
   * are found. Slices are disjoint and in order, so their rows concatenate into the page one statement
   * would return. For a text search (`search`), the newest slice is read hour by hour from the search
   * index (PageOptions.slice.hours: a burst of other events lands there), and older slices bounded on
   * both sides for which `search.byHour` says so are also bounded by hour (PageOptions.slice.byHour).
   */
  private async sliced(
    filters: AuditFilters,
    want: number,
    after: KeysetPosition | undefined,
    hours: readonly number[],
    search?: { byHour: (aboveMs: number) => boolean },
  ): Promise<AuditItemRow[]> {
    const tx = this.txHost.tx;
    const rows: AuditItemRow[] = [];
    const top = pageTop(filters, after);
    // The page starts now (no cursor, no `to` in the past): its newest slice is open towards the future.
    const openEnded = after === undefined && (filters.to === undefined || Date.parse(filters.to) > top);
    const from = filters.from !== undefined ? Date.parse(filters.from) : undefined;
    let atOrBelow: string | undefined;
    for (const h of [...hours, undefined]) {
      // The newest slice of a page filtered by time only (or not at all) has one plan whatever its
      // values: a named statement, planned once per connection (see GENERIC_PAGE_KEY). Filtered by
      // values, it is named after its text with those values in it (see FILTERED_PAGE_KEY). Below a
      // cursor (or with `from`, `to`) it has parameters: run with its generic plan all the same
      // (preparedGenericTextQuery), which the plan cache, left to itself, did not choose.
      const newest = atOrBelow === undefined;
      const generic = newest && timeOnly(filters);
      const filtered = newest && !generic && filters.q === undefined;
      const named = generic
        ? { key: GENERIC_PAGE_KEY }
        : filtered
          ? { key: FILTERED_PAGE_KEY, budget: FILTERED_PAGE_BUDGET }
          : undefined;
      // Such a slice of a first page starts on the hour, as a literal (see NAMED_SLICE_START).
      const literal = named !== undefined && after === undefined;
      const aboveMs = h === undefined ? undefined : sliceStart(top - h * HOUR_MS, literal);
      const above = aboveMs === undefined ? undefined : new Date(aboveMs).toISOString();
      const q = buildPageQuery(filters, {
        order: 'desc',
        limit: want - rows.length,
        after,
        slice: {
          above,
          atOrBelow,
          byHour:
            search !== undefined &&
            atOrBelow !== undefined &&
            aboveMs !== undefined &&
            search.byHour(aboveMs),
          literal,
          hours:
            search !== undefined && newest && above !== undefined
              ? { through: new Date(top).toISOString(), openEnded }
              : undefined,
        },
        inlineLimit: generic || filtered,
        inlineFilters: filtered,
      });
      rows.push(
        ...(named
          ? await preparedGenericTextQuery<AuditItemRow>(tx, named.key, q.sql, q.params, named.budget)
          : await tx.query<AuditItemRow[]>(q.sql, q.params)),
      );
      if (rows.length >= want || aboveMs === undefined) break;
      // `from` bounds the search: no slice wholly below it. A slice that ends exactly at `from` is not
      // (`from` is inclusive, the slice's lower bound exclusive): the next one holds the rows stamped at it.
      if (from !== undefined && aboveMs < from) break;
      atOrBelow = above;
    }
    return rows;
  }

  /**
   * Events per millisecond lately, over every event (the search index's hour column knows no other
   * filter): HEAD_RATE_ROWS over the time from the oldest of the newest HEAD_RATE_ROWS to `now`
   * (0 while the table holds fewer). One walk of the time index. A burst (a bulk import, say) shows as a
   * high rate, so the slices stay off the hour column while it is recent.
   */
  private async headRate(now: number): Promise<number> {
    // A millisecond Date is all a rate needs (no microsecond text as for keyset positions).
    const [row] = await preparedQuery<{ at: Date }>(this.txHost.tx, HEAD_RATE_KEY, HEAD_RATE_SQL, []);
    if (row === undefined) return 0;
    return HEAD_RATE_ROWS / Math.max(now - row.at.getTime(), 1);
  }

  private async count(filters: AuditFilters, cap?: number): Promise<number> {
    const q = buildCountQuery(filters, cap);
    const [row] = await this.txHost.tx.query<{ count: string }[]>(q.sql, q.params);
    return Number(row.count);
  }

  async list(dto: AuditListQueryDto): Promise<AuditLogPageDto> {
    const filters = filtersOf(dto);
    this.audit.addMetadata({
      view: 'list',
      filters,
      order: dto.order,
      limit: dto.limit,
      ...(dto.offset ? { offset: dto.offset } : {}),
      ...(dto.cursor ? { cursor: true } : {}),
    });
    checkRange(filters);
    return this.page(filters, dto.order, dto.limit, dto.cursor, dto.offset, dto.includeTotal === true);
  }

  async errors(dto: AuditErrorsQueryDto): Promise<AuditLogPageDto> {
    const filters: AuditFilters = { errorsOnly: true };
    if (dto.from !== undefined) filters.from = dto.from;
    if (dto.to !== undefined) filters.to = dto.to;
    if (dto.severity !== undefined) filters.severity = dto.severity;
    if (dto.errorType !== undefined) filters.errorType = dto.errorType;
    this.audit.addMetadata({
      view: 'errors',
      filters,
      limit: dto.limit,
      ...(dto.cursor ? { cursor: true } : {}),
    });
    checkRange(filters);
    return this.page(filters, 'desc', dto.limit, dto.cursor, undefined, false);
  }

  /**
   * The chain-ordered feed for SIEM pulls (buildFeedQuery): gap-free, each item with its chain link. Only
   * chained events appear (the sealer chains new ones within AUDIT_SEAL_INTERVAL_MS).
   */
  async feed(dto: AuditFeedQueryDto): Promise<AuditFeedPageDto> {
    this.audit.addMetadata({ view: 'feed', after: dto.after, limit: dto.limit });
    const rows = await preparedTextQuery<AuditFeedRow>(this.txHost.tx, FEED_KEY, buildFeedQuery(dto.limit), [
      String(dto.after),
    ]);
    const items: AuditFeedItemDto[] = [];
    for (const r of rows)
      if (r.id !== null)
        items.push({
          ...toItem(r),
          chain: { pos: Number(r.chain_pos), prevHash: r.prev_hash, hash: r.hash },
        });
    this.audit.addMetadata({ rowCount: items.length });
    // The last chain row read, even when its event is gone: the next page starts after it.
    const last = rows[rows.length - 1];
    return { items, limit: dto.limit, nextAfter: last ? Number(last.chain_pos) : dto.after };
  }

  async get(id: string): Promise<AuditLogItemDto> {
    this.audit.setResource('audit_log', id);
    this.audit.addMetadata({ view: 'item' });
    const q = buildItemQuery(id);
    const [row] = await this.txHost.tx.query<AuditItemRow[]>(q.sql, q.params);
    if (!row) throw new NotFoundError('Audit event', id);
    this.audit.setResource('audit_log', id, `${row.action} at ${row.occurred_at_text}`);
    return toItem(row);
  }

  async stats(dto: AuditStatsQueryDto): Promise<AuditStatsDto> {
    const filters = filtersOf(dto);
    this.audit.addMetadata({ view: 'stats', groupBy: dto.groupBy, filters });
    checkRange(filters);
    const q = buildStatsQuery(filters, dto.groupBy);
    const rows = await this.txHost.tx.query<{ key: string; label: string | null; count: string }[]>(
      q.sql,
      q.params,
    );
    this.audit.addMetadata({ rowCount: rows.length });
    return {
      groupBy: dto.groupBy,
      buckets: rows.map((r) => ({
        key: r.key,
        ...(r.label !== null ? { label: r.label } : {}),
        count: Number(r.count),
      })),
    };
  }

  /** Validates and counts before the first byte: over AUDIT_EXPORT_MAX_ROWS → 422. */
  async prepareExport(dto: AuditExportQueryDto): Promise<PreparedExport> {
    const filters = filtersOf(dto);
    this.audit.addMetadata({ format: dto.format, order: dto.order, filters });
    checkRange(filters);
    const max = this.config.auditExportMaxRows;
    const rows = await this.count(filters, max);
    this.audit.addMetadata({ matchingRows: Math.min(rows, max + 1) });
    if (rows > max)
      throw new UnprocessableError(
        `More than ${max} events match (AUDIT_EXPORT_MAX_ROWS): narrow the filters (e.g. from/to) and export in parts`,
      );
    const filename = `audit-logs-${filters.from ? fileStamp(filters.from) : 'beginning'}-${fileStamp(filters.to ?? new Date().toISOString())}.${dto.format}`;
    return { filters, order: dto.order, format: dto.format, rows, filename };
  }

  /**
   * Streams the export in the request's transaction, without ending the sink. Returns the rows written
   * and whether the client went away. On a PostgreSQL server (AUDIT_EXPORT_STRATEGY auto/copy),
   * COPY streams them: CSV formatted by PostgreSQL, NDJSON/JSON written from binary rows (see
   * audit-export.copy.ts and audit-export.binary.ts); on the embedded
   * database, the cursor path below. A client that reads nothing for AUDIT_EXPORT_STALL_TIMEOUT_MS
   * is cut off: recorded as aborted, with `stalled`.
   */
  async streamExport(prepared: PreparedExport, sink: Writable): Promise<{ rows: number; aborted: boolean }> {
    // A client that stops reading would hold this transaction for as long as it keeps the socket.
    const stall = watchStall(sink, this.config.auditExportStallTimeoutMs);
    try {
      return this.config.auditExportStrategy === 'cursor'
        ? await this.streamByCursor(prepared, sink)
        : await this.streamByCopy(prepared, sink);
    } finally {
      stall.stop();
      if (stall.stalled) this.audit.addMetadata({ stalled: true });
    }
  }

  /** The export by `COPY … TO STDOUT` in the request's transaction (see audit-export.copy.ts). */
  private async streamByCopy(
    prepared: PreparedExport,
    sink: Writable,
  ): Promise<{ rows: number; aborted: boolean }> {
    const runner = this.txHost.tx.queryRunner as PostgresQueryRunner | undefined;
    if (!runner) throw new Error('The export must run in the request transaction');
    // The pg client of the request's transaction (already connected, inside BEGIN).
    const client = (await runner.connect()) as PoolClient;
    const sql = buildCopyExport(prepared.filters, prepared.order, prepared.format);
    const { rows, aborted } = await copyExport(client, sql, prepared.format, sink);
    this.audit.addMetadata(aborted ? { aborted: true } : { rowCount: rows ?? 0 });
    return { rows: rows ?? 0, aborted };
  }

  /**
   * The export through a server-side cursor in the request's transaction, FETCHing
   * EXPORT_BATCH_ROWS at a time and waiting for the sink to drain (backpressure). Does not end the
   * sink. Returns the rows written and whether the client went away.
   */
  private async streamByCursor(
    prepared: PreparedExport,
    sink: Writable,
  ): Promise<{ rows: number; aborted: boolean }> {
    const tx = this.txHost.tx;
    const q = buildExportQuery(prepared.filters, prepared.order);
    await tx.query(`DECLARE audit_export NO SCROLL CURSOR FOR ${q.sql}`, q.params);
    let rows = 0;
    let aborted = false;
    let first = true;
    const write = async (chunk: string): Promise<boolean> => sink.write(chunk) || drained(sink);
    // On an error the transaction rolls back, which closes the cursor too.
    if (prepared.format === 'csv') aborted = !(await write(CSV_HEADER));
    else if (prepared.format === 'json') aborted = !(await write('['));
    while (!aborted) {
      const batch = await tx.query<AuditItemRow[]>(`FETCH FORWARD ${EXPORT_BATCH_ROWS} FROM audit_export`);
      if (batch.length === 0) break;
      let chunk = '';
      for (const row of batch) {
        if (prepared.format === 'csv') chunk += csvRow(row);
        else if (prepared.format === 'ndjson') chunk += `${JSON.stringify(toItem(row))}\n`;
        else {
          chunk += `${first ? '\n' : ',\n'}${JSON.stringify(toItem(row))}`;
          first = false;
        }
      }
      rows += batch.length;
      aborted = !(await write(chunk));
    }
    if (!aborted && prepared.format === 'json') aborted = !(await write(first ? ']\n' : '\n]\n'));
    await tx.query('CLOSE audit_export');
    this.audit.addMetadata({ rowCount: rows, ...(aborted ? { aborted: true } : {}) });
    return { rows, aborted };
  }
}
