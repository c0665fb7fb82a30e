import { QueryRunner } from 'typeorm';
import {
  QueryFn,
  verifyChain,
  VerifyOptions,
  VerifyResult,
} from '../../src/modules/audit/integrity/chain-verifier';
import type { TestApp } from './test-app';

export const SIGNING_KEY = 'test-audit-signing-key-long-enough-0000';

/**
 * Runs `fn` in a transaction with `session_replication_role = replica` (as the superuser: triggers
 * off, as an attacker with superuser rights would do), then verifies inside that same transaction and
 * rolls everything back, so each tamper case starts from the intact chain. Windows of 7 chain
 * positions per statement, so that tampering meets window boundaries.
 */
export async function tamperAndVerify(
  t: TestApp,
  fn: (q: QueryFn) => Promise<unknown>,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const qr: QueryRunner = t.dataSource.createQueryRunner();
  await qr.connect();
  try {
    await qr.startTransaction();
    const q: QueryFn = <T>(sql: string, params?: unknown[]) => qr.query(sql, params) as Promise<T[]>;
    await q('SET LOCAL session_replication_role = replica');
    await fn(q);
    await q('SET LOCAL session_replication_role = origin');
    return await verifyChain(q, SIGNING_KEY, { batchSize: 7, ...options });
  } finally {
    await qr.rollbackTransaction();
    await qr.release();
  }
}

export async function seqAt(t: TestApp, pos: number): Promise<string> {
  const [r] = await t.query<{ seq: string }>(
    `SELECT seq::text AS seq FROM audit_chain WHERE chain_pos = $1`,
    [pos],
  );
  return r.seq;
}

/** SQL condition on audit_logs: the event at chain position `pos`. */
export const eventAt = (pos: number): string =>
  `seq = (SELECT c.seq FROM audit_chain c WHERE c.chain_pos = ${pos})`;

/** SQL deleting the events (and their chain rows) from chain position `pos` on, or at `pos` only. */
export function deleteEvents(q: QueryFn, pos: number, onwards = false): Promise<unknown> {
  const where = onwards ? `c.chain_pos >= ${pos}` : `c.chain_pos = ${pos}`;
  return q(`WITH gone AS (SELECT c.seq FROM audit_chain c WHERE ${where}),
              e AS (DELETE FROM audit_logs a USING gone WHERE a.seq = gone.seq)
            DELETE FROM audit_chain c WHERE ${where}`);
}
