import { setLocal, type Settings, type SqlQuery } from '../../../database/local-settings';
import { checkpointSignatureValid, eventHashSql, tsText } from './canonical';

/** Runs one SQL statement (the app's transaction, or a plain pg client in the CLI). */
export type QueryFn = SqlQuery;

/** Chain positions checked per statement (bounded statement time and memory). */
export const VERIFY_WINDOW = 200_000;

export interface VerifyOptions {
  /** First seq to check (the chain is walked from that event's chain position). */
  fromSeq?: string;
  /** Last seq to check. Without it the newest checkpoint must be found (cut-off detection). */
  toSeq?: string;
  /** Chain positions per SQL statement (default VERIFY_WINDOW). */
  batchSize?: number;
}

export interface VerifyResult {
  valid: boolean;
  /** Events whose link and hash were checked. */
  checked: number;
  /** The seq of the first event found broken (for a rewritten chain: the first checkpoint that disagrees). */
  firstBrokenSeq: string | null;
  reason: string | null;
  /** Events not chained yet (the sealer chains them within AUDIT_SEAL_INTERVAL_MS), within fromSeq…toSeq when given. */
  unsealed: number;
  checkpointsChecked: number;
  archives: number;
}

interface Checkpoint {
  id: string;
  last_pos: string;
  last_seq: string;
  last_hash: Buffer;
  event_count: string;
  created_at: string;
  previous_id: string | null;
  signature: Buffer;
}

interface Archive {
  first_pos: string | null;
  last_pos: string | null;
  exits: Record<string, string>;
}

class Broken extends Error {
  constructor(
    readonly seq: string | null,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Verifies the hash chain: checkpoint signatures and their chain (HMAC, in Node), then every event in
 * chain order, inside PostgreSQL in windows of chain positions (WINDOW_SQL): its prev_hash links to the
 * previous event's hash (or to an archived event's, after retention), its hash recomputes (the SQL
 * form of eventHash, generated from the same field list; test/audit-canonical-sql.e2e-spec.ts proves
 * both agree), and it matches any checkpoint at its position. Only counts and the first broken event
 * come back to Node. Finally the newest checkpoint's event must exist (or be archived): cut-off newest
 * events are found.
 */
export async function verifyChain(
  query: QueryFn,
  signingKey: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const batch = options.batchSize ?? VERIFY_WINDOW;
  const result: VerifyResult = {
    valid: true,
    checked: 0,
    firstBrokenSeq: null,
    reason: null,
    unsealed: 0,
    checkpointsChecked: 0,
    archives: 0,
  };
  try {
    const checkpoints = await query<Checkpoint>(
      `SELECT id, last_pos::text AS last_pos, last_seq::text AS last_seq, last_hash, event_count::text AS event_count,
              ${tsText('created_at')} AS created_at, previous_id, signature
         FROM audit_checkpoints c ORDER BY c.last_pos`,
    );
    const archives = await query<Archive>(
      `SELECT first_pos::text AS first_pos, last_pos::text AS last_pos, exits FROM audit_archives a ORDER BY a.last_pos`,
    );
    result.archives = archives.length;
    const exits = new Map<bigint, Buffer>();
    for (const a of archives)
      for (const [pos, hex] of Object.entries(a.exits)) exits.set(BigInt(pos), Buffer.from(hex, 'hex'));
    const archived = (pos: bigint): boolean =>
      archives.some(
        (a) =>
          a.first_pos !== null &&
          a.last_pos !== null &&
          pos >= BigInt(a.first_pos) &&
          pos <= BigInt(a.last_pos),
      );

    checkCheckpoints(checkpoints, signingKey);
    result.checkpointsChecked = checkpoints.length;

    let fromPos = 1n;
    let fromExists = false; // fromPos is a sealed event's position (no need to look for the next one)
    let toPos: bigint | null = null;
    if (options.fromSeq !== undefined) {
      const pos = await sealedPosNear(query, options.fromSeq, 'up');
      if (pos !== null) {
        fromPos = pos;
        fromExists = true;
      } else {
        // Nothing sealed from fromSeq on: the range starts after the newest chained event, so a
        // checkpoint beyond that event (cut-off newest events) is still reported, older ones are not.
        const [head] = await query<{ pos: string | null }>(
          `SELECT max(c.chain_pos)::text AS pos FROM audit_chain c`,
        );
        fromPos = BigInt(head?.pos ?? '0') + 1n;
      }
    }
    if (options.toSeq !== undefined) {
      toPos = (await sealedPosNear(query, options.toSeq, 'down')) ?? 0n;
    }

    // Planner settings for the window statements, for this transaction only (a no-op outside one) and
    // put back after the last window (see WINDOW_SETTINGS).
    const saved = await setLocal(query, WINDOW_SETTINGS);
    const seen = new Set<bigint>(); // checkpoint positions found
    const exitPos = [...exits.keys()].map(String);
    const exitHex = [...exits.values()].map((h) => h.toString('hex'));
    const cpPos = checkpoints.map((c) => BigInt(c.last_pos)); // ascending
    let ci = 0;
    // Windows of chain positions [lo, hi]; lo is always an existing position (archived gaps skipped).
    let lo = fromExists ? fromPos : fromPos > 0n ? await nextPos(query, fromPos) : null;
    let broken: Broken | null = null;
    try {
      while (lo !== null && (toPos === null || lo <= toPos)) {
        let hi = lo + BigInt(batch) - 1n;
        if (toPos !== null && hi > toPos) hi = toPos;
        while (ci < cpPos.length && cpPos[ci] < lo) ci++;
        const inWindow: Checkpoint[] = [];
        for (let j = ci; j < cpPos.length && cpPos[j] <= hi; j++) inWindow.push(checkpoints[j]);
        const [w] = await query<WindowResult>(WINDOW_SQL, [
          lo.toString(),
          hi.toString(),
          exitPos,
          exitHex,
          inWindow.map((c) => c.last_pos),
          inWindow.map((c) => c.last_hash.toString('hex')),
          inWindow.map((c) => c.last_seq),
        ]);
        if (w.broken) {
          const [pos, seq, code] = w.broken.split(' ');
          result.checked += Number(w.before_broken);
          const cp = checkpoints.find((c) => c.last_pos === pos);
          throw new Broken(seq, brokenReason(Number(code), pos, cp?.id));
        }
        result.checked += Number(w.n);
        for (const p of w.checkpoints ?? []) seen.add(BigInt(p));
        // Past toSeq's event: done, without asking for the next position.
        lo = toPos !== null && hi >= toPos ? null : await nextPos(query, hi + 1n);
      }
    } catch (e) {
      if (!(e instanceof Broken)) throw e; // the transaction is aborted: nothing to put back
      broken = e;
    }

    await setLocal(query, saved);
    if (broken) throw broken;

    for (const cp of checkpoints) {
      const pos = BigInt(cp.last_pos);
      if (pos < fromPos || (toPos !== null && pos > toPos)) continue;
      if (!seen.has(pos) && !archived(pos))
        throw new Broken(
          cp.last_seq,
          `checkpoint ${cp.id} names the event at chain position ${pos} (seq ${cp.last_seq}), which is missing: newest events were cut off`,
        );
    }
    // Unsealed events of the requested seq range (all of them without a range): the sealer's queue.
    const bounds: string[] = [];
    const params: string[] = [];
    if (options.fromSeq !== undefined) bounds.push(`seq >= $${params.push(options.fromSeq)}`);
    if (options.toSeq !== undefined) bounds.push(`seq <= $${params.push(options.toSeq)}`);
    const where = bounds.length > 0 ? `WHERE ${bounds.join(' AND ')}` : '';
    const [{ n }] = await query<{ n: string }>(
      `SELECT count(*)::text AS n FROM audit_pending ${where}`,
      params,
    );
    result.unsealed = Number(n);
  } catch (e) {
    if (!(e instanceof Broken)) throw e;
    result.valid = false;
    result.firstBrokenSeq = e.seq;
    result.reason = e.message;
  }
  return result;
}

interface WindowResult {
  n: string;
  /** Events of the window checked before the first broken one (null when none is broken). */
  before_broken: string | null;
  /** 'chain_pos seq code' of the first broken event in the window, or null. */
  broken: string | null;
  /** Checkpoint positions in the window whose event was found and matched. */
  checkpoints: string[] | null;
}

/**
 * Planner settings for WINDOW_SQL (SET LOCAL; the previous values are put back after the last window):
 * - jit off: the statements are expensive enough to trigger JIT compilation (~0.2 s each), which buys
 *   nothing here (the time goes into sha256, to_char and array_to_json calls);
 * - enable_seqscan off: a window's chain rows are read through the chain's primary key, each event
 *   through its partition's seq index, instead of a hash join against sequential scans of whole
 *   partitions;
 * - work_mem 64MB: the sort of one window (~100 bytes per event) stays in memory instead of spilling;
 * - parallel_setup_cost / parallel_tuple_cost 0: keeps the parallel plan (the hash recomputed in the
 *   workers, as a sort key, see HASH_OK), which the larger work_mem alone would trade for a serial
 *   in-memory sort (2× slower). Together: ~9 % on the bench data (100,003 events).
 */
const WINDOW_SETTINGS: Settings = [
  ['jit', 'off'],
  ['enable_seqscan', 'off'],
  ['work_mem', '64MB'],
  ['parallel_setup_cost', '0'],
  ['parallel_tuple_cost', '0'],
];

/** The chain position of the chained event with the lowest seq ≥ `seq` ('up') or the highest seq ≤ `seq` ('down'), or null. */
async function sealedPosNear(query: QueryFn, seq: string, direction: 'up' | 'down'): Promise<bigint | null> {
  const up = direction === 'up';
  const [r] = await query<{ pos: string }>(
    `SELECT c.chain_pos::text AS pos FROM audit_chain c
      WHERE c.seq ${up ? '>=' : '<='} $1 ORDER BY c.seq ${up ? 'ASC' : 'DESC'} LIMIT 1`,
    [seq],
  );
  return r ? BigInt(r.pos) : null;
}

/** The lowest chain position ≥ pos present in the table, or null. */
async function nextPos(query: QueryFn, pos: bigint): Promise<bigint | null> {
  const [r] = await query<{ pos: string | null }>(
    `SELECT min(c.chain_pos)::text AS pos FROM audit_chain c WHERE c.chain_pos >= $1`,
    [pos.toString()],
  );
  return r?.pos == null ? null : BigInt(r.pos);
}

/**
 * The stored hash recomputes. It is also the window's second sort key because PostgreSQL computes
 * sort keys below the WindowAgg, in the parallel workers of the scan (measured: about 2× faster on two
 * cores), and a plain output column above it, in the leader alone. It changes no order in an intact
 * chain (chain_pos is unique); with a duplicated chain_pos (forged), the intact event comes first and
 * the copy is reported, as the row-by-row walk did.
 */
const HASH_OK = `(${eventHashSql('a', 'c')} = c.hash)`;

/**
 * One window [$1, $2] of chain positions (audit_chain joined to the events: in the parallel workers,
 * one probe of the event's partition's seq index per chain row; a chain row whose event is gone drops
 * out and shows as a gap), checked inside PostgreSQL in one ordered pass:
 * - the link: prev_hash = hash of the event at chain_pos - 1 (lag over chain_pos; the row at $1 - 1,
 *   outside the window, is read too so the first event links to it), else an archive's exit hash
 *   ($3/$4), else 32 zero bytes at position 1; otherwise the event before it is missing (code 1) or
 *   prev_hash differs (code 2);
 * - the hash recomputed from the stored fields (eventHashSql, generated from CANONICAL_FIELDS, code 3);
 * - a checkpoint at that position ($5/$6/$7, signatures checked in Node) names this event (code 4).
 * Returns the count, the FIRST broken event (codes in that order of precedence, as the previous
 * row-by-row walk did) and the matched checkpoint positions.
 */
const WINDOW_SQL = `
  WITH x AS (
    SELECT u.pos, decode(u.hex, 'hex') AS hash FROM unnest($3::bigint[], $4::text[]) AS u(pos, hex)
  ), k AS (
    SELECT u.pos, decode(u.hex, 'hex') AS hash, u.seq
      FROM unnest($5::bigint[], $6::text[], $7::text[]) AS u(pos, hex, seq)
  ), w AS (
    SELECT c.chain_pos AS pos, c.seq, c.prev_hash, c.hash, ${HASH_OK} AS ok,
           lag(c.chain_pos) OVER o AS lpos, lag(c.hash) OVER o AS lhash, row_number() OVER o AS rn
      FROM audit_chain c JOIN audit_logs a ON a.seq = c.seq AND a.occurred_at = c.occurred_at
     WHERE c.chain_pos >= $1::bigint - 1 AND c.chain_pos <= $2::bigint
    WINDOW o AS (ORDER BY c.chain_pos, ${HASH_OK} DESC)
  ), l AS (
    SELECT w.pos, w.seq, w.prev_hash, w.hash, w.ok, w.rn,
           CASE WHEN w.lpos = w.pos - 1 THEN w.lhash
                ELSE coalesce((SELECT x.hash FROM x WHERE x.pos = w.pos - 1 LIMIT 1),
                              CASE WHEN w.pos = 1 THEN decode(repeat('00', 32), 'hex') END)
           END AS expected
      FROM w
     WHERE w.pos >= $1::bigint
  ), e AS (
    SELECT l.pos, l.seq, l.rn, k.pos IS NOT NULL AS is_cp,
           CASE
             WHEN l.expected IS NULL THEN 1
             WHEN l.prev_hash IS DISTINCT FROM l.expected THEN 2
             WHEN l.ok IS NOT TRUE THEN 3
             WHEN k.pos IS NOT NULL AND (k.hash IS DISTINCT FROM l.hash OR k.seq IS DISTINCT FROM l.seq::text) THEN 4
             ELSE 0
           END AS code
      FROM l LEFT JOIN k ON k.pos = l.pos
  )
  SELECT count(*)::text AS n,
         ((min(e.rn) FILTER (WHERE e.code <> 0)) - min(e.rn))::text AS before_broken,
         (array_agg(e.pos || ' ' || e.seq || ' ' || e.code ORDER BY e.rn) FILTER (WHERE e.code <> 0))[1] AS broken,
         array_agg(e.pos::text) FILTER (WHERE e.is_cp AND e.code = 0) AS checkpoints
    FROM e`;

function brokenReason(code: number, pos: string, checkpointId: string | undefined): string {
  switch (code) {
    case 1:
      return `the event before chain position ${pos} is missing (deleted events)`;
    case 2:
      return `prev_hash at chain position ${pos} does not match the previous event (events deleted, inserted or reordered)`;
    case 3:
      return `hash mismatch at chain position ${pos}: the event was altered`;
    default:
      return `checkpoint ${checkpointId} signed a different event at chain position ${pos}: the chain was rewritten before this point`;
  }
}

/** Signatures, the previous-checkpoint links and the counts between checkpoints. */
function checkCheckpoints(checkpoints: Checkpoint[], key: string): void {
  let previous: Checkpoint | undefined;
  for (const cp of checkpoints) {
    const valid = checkpointSignatureValid(
      key,
      {
        id: cp.id,
        lastPos: cp.last_pos,
        lastSeq: cp.last_seq,
        lastHash: cp.last_hash,
        eventCount: cp.event_count,
        createdAt: cp.created_at,
        previousId: cp.previous_id,
        previousSignature: previous?.signature ?? null,
      },
      cp.signature,
    );
    if (!valid)
      throw new Broken(cp.last_seq, `checkpoint ${cp.id} has an invalid signature (forged or altered)`);
    if ((cp.previous_id ?? null) !== (previous?.id ?? null))
      throw new Broken(
        cp.last_seq,
        `checkpoint ${cp.id} does not follow the previous checkpoint (checkpoints removed)`,
      );
    if (BigInt(cp.last_pos) - BigInt(previous?.last_pos ?? '0') !== BigInt(cp.event_count))
      throw new Broken(
        cp.last_seq,
        `checkpoint ${cp.id} counts a different number of events than its position says`,
      );
    previous = cp;
  }
}
