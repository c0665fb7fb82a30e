import { Injectable, Logger } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../../config/app-config';
import type { Tx } from '../../../database/transaction';
import { preparedQuery, preparedTextQuery } from '../../../database/prepared-statement';
import { sqlLimit } from '../../../database/sql-literal';
import { TransactionRunner } from '../../../database/transaction-runner';
import {
  canonicalSelect,
  ChainRow,
  CheckpointFields,
  eventHash,
  GENESIS_HASH,
  isoMicros,
  signCheckpoint,
  tsText,
} from './canonical';
import { AuditClock } from './clock';
import { SEALER_LOCK_KEY } from './locks';

/** Events chained per statement pair (INSERT into audit_chain, DELETE from audit_pending). */
const BATCH = 1000;
/** Rows chained per transaction in a timer run (short transactions, progress visible). */
const ROWS_PER_TRANSACTION = 20_000;

interface Head {
  pos: bigint;
  seq: string | null;
  hash: Buffer;
}

export interface CheckpointRow {
  id: string;
  last_pos: string;
  last_seq: string;
  last_hash: Buffer;
  event_count: string;
  created_at: string;
  previous_id: string | null;
  signature: Buffer;
}

export const CHECKPOINT_SELECT = `id, last_pos::text AS last_pos, last_seq::text AS last_seq, last_hash,
  event_count::text AS event_count, ${tsText('created_at')} AS created_at, previous_id, signature`;

export interface SealResult {
  /** False when another instance held the sealer lock (nothing done). */
  locked: boolean;
  sealed: number;
  checkpoints: number;
}

/**
 * The next `limit` queued events after seq $1, in seq order, as ChainRows (chain columns NULL): the queue's
 * entries, then each one's row by (seq, occurred_at). The LATERAL subquery with `OFFSET 0` (which
 * keeps the planner from flattening it into a plain join) is one probe of one partition's seq index per
 * event. A plain join let the planner hash-join a large queue (a backlog, a bulk load) against a
 * sequential scan of every partition, once per batch (measured: 100,000 queued events sealed at ~2,700
 * rows/s instead of ~24,000): it costs the nested loop as if every partition were probed per event,
 * not knowing that run-time pruning leaves one. Run as a named prepared statement per LIMIT (inlined;
 * with `LIMIT $2` PostgreSQL's plan cache never took the generic plan and planned every run over every
 * partition; measured 2026-12-07 on the 2 M bench database, 209 queued events: 1.6–2.0 ms planning +
 * 0.7–1.0 ms execution per run, then 0.01 ms planning once the generic plan is cached).
 */
export function queuedEventsSql(limit: number): string {
  return `SELECT ${canonicalSelect('a')}
    FROM (SELECT q.seq, q.occurred_at FROM audit_pending q WHERE q.seq > $1 ORDER BY q.seq LIMIT ${sqlLimit(limit)}) p
   CROSS JOIN LATERAL (SELECT * FROM audit_logs e WHERE e.seq = p.seq AND e.occurred_at = p.occurred_at
                        OFFSET 0) a
   ORDER BY p.seq`;
}

const APPEND_SQL = `INSERT INTO audit_chain (chain_pos, seq, occurred_at, prev_hash, hash)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::bytea[], $5::bytea[])`;

const DEQUEUE_SQL = `WITH d AS (DELETE FROM audit_pending p WHERE p.seq = ANY($1::bigint[]) RETURNING 1)
  SELECT count(*)::int AS n FROM d`;

const HEAD_SQL = `SELECT c.chain_pos::text AS pos, c.seq::text AS seq, c.hash FROM audit_chain c
  ORDER BY c.chain_pos DESC LIMIT 1`;

/**
 * Chains new audit events. Requests only INSERT into audit_logs; a trigger queues each event in
 * audit_pending. This sealer, one at a time across app instances (pg_try_advisory_xact_lock), gives
 * every committed queued event the next chain position, prev_hash and hash, in seq order within a run:
 * one INSERT of the batch into the insert-only audit_chain and one DELETE from the queue (audit_logs
 * is never updated). Because the chain order is the sealing order (chain_pos), an event whose
 * transaction commits late with a lower seq is simply chained in a later run: never skipped, never out
 * of order. See docs/compliance.md.
 */
@Injectable()
export class AuditSealer {
  private readonly logger = new Logger('AuditSealer');

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly transactions: TransactionRunner,
    private readonly config: AppConfig,
    private readonly clock: AuditClock,
  ) {}

  private query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.txHost.tx.query<T[]>(sql, params);
  }

  /**
   * One sealing run: transactions of up to ROWS_PER_TRANSACTION events each until nothing is left;
   * returns at once when another instance is sealing.
   */
  async sealOnce(now?: Date): Promise<SealResult> {
    const total: SealResult = { locked: true, sealed: 0, checkpoints: 0 };
    let afterSeq = '0';
    for (;;) {
      const r = await this.transactions.run(async () => {
        const [{ locked }] = await this.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_xact_lock($1) AS locked',
          [SEALER_LOCK_KEY],
        );
        if (!locked) return { locked: false, sealed: 0, checkpoints: 0, lastSeq: afterSeq };
        return { locked: true, ...(await this.sealPending(now, ROWS_PER_TRANSACTION, afterSeq)) };
      });
      afterSeq = r.lastSeq;
      if (!r.locked) return total.sealed > 0 ? total : { locked: false, sealed: 0, checkpoints: 0 };
      total.sealed += r.sealed;
      total.checkpoints += r.checkpoints;
      if (r.sealed < ROWS_PER_TRANSACTION) return total;
    }
  }

  /**
   * Seals every unsealed event visible to the current transaction and writes the checkpoints due.
   * The caller holds SEALER_LOCK_KEY in the current transaction.
   */
  async sealPending(
    now: Date = this.clock.now(),
    maxRows = Number.POSITIVE_INFINITY,
    fromSeq = '0',
  ): Promise<{ sealed: number; checkpoints: number; lastSeq: string }> {
    let head = await this.head();
    let last = await this.lastCheckpoint();
    let sealed = 0;
    let checkpoints = 0;
    const every = BigInt(this.config.auditCheckpointEvery);
    // Keyset on seq within a run (also across its transactions): the queue's deleted entries stay in
    // its index until vacuum, so restarting from seq 0 for every batch would rescan them (quadratic).
    // Each run starts again from 0, so a late commit with a lower seq is picked up by the next run.
    let afterSeq = fromSeq;
    while (sealed < maxRows) {
      const limit = Math.min(BATCH, maxRows - sealed);
      const tx = this.txHost.tx;
      const rows = await preparedTextQuery<ChainRow>(tx, 'audit_seal_read', queuedEventsSql(limit), [
        afterSeq,
      ]);
      if (rows.length === 0) break;
      const pos: string[] = [];
      const seqs: string[] = [];
      const times: string[] = [];
      const prevs: Buffer[] = [];
      const hashes: Buffer[] = [];
      const due: Head[] = [];
      for (const row of rows) {
        const next = head.pos + 1n;
        row.chain_pos = next.toString();
        const hash = eventHash(head.hash, row);
        pos.push(row.chain_pos);
        seqs.push(row.seq ?? '');
        times.push(row.occurred_at ?? '');
        prevs.push(head.hash);
        hashes.push(hash);
        head = { pos: next, seq: row.seq, hash };
        if (next - BigInt(last?.last_pos ?? '0') - BigInt(due.length) * every >= every) due.push(head);
      }
      await preparedQuery(tx, 'audit_seal_append', APPEND_SQL, [pos, seqs, times, prevs, hashes]);
      const [{ n }] = await preparedQuery<{ n: number }>(tx, 'audit_seal_dequeue', DEQUEUE_SQL, [seqs]);
      if (n !== rows.length)
        throw new Error(`Sealing conflict: dequeued ${n} of ${rows.length} events; rolled back`);
      sealed += rows.length;
      afterSeq = rows[rows.length - 1].seq ?? afterSeq;
      for (const h of due) {
        last = await this.writeCheckpoint(h, last, now);
        checkpoints++;
      }
      // A short batch took everything committed when it was read: stop there. Events committing
      // meanwhile wait for the next run; chasing them kept the loop going in batches of a few events,
      // each paying its statements, for as long as requests kept coming.
      if (rows.length < limit) break;
    }
    const minutes = this.config.auditCheckpointMinutes;
    const lastPos = BigInt(last?.last_pos ?? '0');
    if (
      head.pos > lastPos &&
      (!last ||
        now.getTime() - Date.parse(last.created_at) >= minutes * 60_000 ||
        head.pos - lastPos >= every)
    ) {
      await this.writeCheckpoint(head, last, now);
      checkpoints++;
    }
    return { sealed, checkpoints, lastSeq: afterSeq };
  }

  /** Writes a checkpoint at the current head unless the newest checkpoint is there already. */
  async checkpointNow(now: Date = this.clock.now()): Promise<CheckpointRow | undefined> {
    const head = await this.head();
    const last = await this.lastCheckpoint();
    if (head.pos === 0n || (last && BigInt(last.last_pos) === head.pos)) return last;
    return this.writeCheckpoint(head, last, now);
  }

  /** The newest chained event: in the table, or (after retention) the newest archived one. */
  async head(): Promise<Head> {
    const [live] = await preparedQuery<{ pos: string; seq: string; hash: Buffer }>(
      this.txHost.tx,
      'audit_chain_head',
      HEAD_SQL,
      [],
    );
    const [archived] = await this.query<{ pos: string; seq: string; hash: Buffer }>(
      `SELECT last_pos::text AS pos, last_seq::text AS seq, last_hash AS hash FROM audit_archives a
        WHERE a.last_pos IS NOT NULL ORDER BY a.last_pos DESC LIMIT 1`,
    );
    const best = [live, archived]
      .filter((h) => h !== undefined)
      .sort((a, b) => (BigInt(b.pos) > BigInt(a.pos) ? 1 : -1))[0];
    return best
      ? { pos: BigInt(best.pos), seq: best.seq, hash: best.hash }
      : { pos: 0n, seq: null, hash: GENESIS_HASH };
  }

  async lastCheckpoint(): Promise<CheckpointRow | undefined> {
    const [row] = await this.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_SELECT} FROM audit_checkpoints c ORDER BY c.last_pos DESC LIMIT 1`,
    );
    return row;
  }

  private async writeCheckpoint(
    head: Head,
    previous: CheckpointRow | undefined,
    now: Date,
  ): Promise<CheckpointRow> {
    const fields: CheckpointFields = {
      id: randomUUID(),
      lastPos: head.pos.toString(),
      lastSeq: head.seq ?? '0',
      lastHash: head.hash,
      eventCount: (head.pos - BigInt(previous?.last_pos ?? '0')).toString(),
      createdAt: isoMicros(now),
      previousId: previous?.id ?? null,
      previousSignature: previous?.signature ?? null,
    };
    const signature = signCheckpoint(this.config.auditSigningKey, fields);
    await this.query(
      `INSERT INTO audit_checkpoints (id, last_pos, last_seq, last_hash, event_count, created_at, previous_id, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        fields.id,
        fields.lastPos,
        fields.lastSeq,
        fields.lastHash,
        fields.eventCount,
        fields.createdAt,
        fields.previousId,
        signature,
      ],
    );
    // Logged so that the signed head can be anchored outside the database (log shipping / SIEM).
    this.logger.log(
      `checkpoint ${fields.id}: pos ${fields.lastPos} seq ${fields.lastSeq} hash ${head.hash.toString('hex')} signature ${signature.toString('hex')}`,
    );
    return {
      id: fields.id,
      last_pos: fields.lastPos,
      last_seq: fields.lastSeq,
      last_hash: fields.lastHash,
      event_count: fields.eventCount,
      created_at: fields.createdAt,
      previous_id: fields.previousId,
      signature,
    };
  }
}
