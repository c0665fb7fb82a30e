import { TransactionHost } from '@nestjs-cls/transactional';
import type { Tx } from '../src/database/transaction';
import { TransactionRunner } from '../src/database/transaction-runner';
import { AuditService } from '../src/modules/audit/audit.service';
import { AuditSealer, queuedEventsSql } from '../src/modules/audit/integrity/audit-sealer.service';
import { AuditVerifier } from '../src/modules/audit/integrity/audit-verifier.service';
import { canonicalSelect, ChainRow, eventHash } from '../src/modules/audit/integrity/canonical';
import { SEALER_LOCK_KEY } from '../src/modules/audit/integrity/locks';
import { PartitionManager } from '../src/modules/audit/integrity/partition-manager.service';
import { chainPartitionName, monthPartition } from '../src/modules/audit/integrity/partitions';
import { auditEvents } from './support/audit';
import { bearer, createUser, loginAdmin } from './support/factories';
import { deleteEvents, eventAt, seqAt, tamperAndVerify } from './support/integrity';
import { onOneConnection } from './support/prepared';
import { createTestApp, TestApp } from './support/test-app';

async function recordEvents(t: TestApp, n: number): Promise<void> {
  const audit = t.app.get(AuditService);
  await t.app.get(TransactionRunner).run(() =>
    audit.recordMany(
      Array.from({ length: n }, (_, i) => ({
        action: 'system.started' as const,
        actor: { type: 'system' as const, id: null, name: 'System' },
        metadata: { i, nested: { b: [1, 2.5, 'x'], a: null } },
        changes: i % 3 === 0 ? { title: { from: 'a "quoted" \u00e9', to: null } } : null,
      })),
    ),
  );
}

describe('audit integrity: chain, checkpoints, verify, partitions', () => {
  let t: TestApp;
  let sealer: AuditSealer;

  beforeAll(async () => {
    t = await createTestApp({ AUDIT_CHECKPOINT_EVERY: '10' });
    sealer = t.app.get(AuditSealer);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('audit_logs is partitioned by month: ≥ 3 partitions (pg_inherits) plus a default one after start-up', async () => {
    const [{ relkind }] = await t.query<{ relkind: string }>(
      `SELECT relkind FROM pg_class WHERE oid = 'audit_logs'::regclass`,
    );
    expect(relkind).toBe('p');
    const parts = await t.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit_logs'::regclass`,
    );
    const names = parts.map((p) => p.name);
    const now = new Date();
    for (let i = 0; i <= 2; i++) expect(names).toContain(monthPartition(now, i).name);
    expect(names).toContain('audit_logs_default');
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(await t.app.get(PartitionManager).ensure()).toEqual([]);
  });

  it('events are inserted unsealed (queued by the trigger); the sealer chains them in order and writes signed checkpoints', async () => {
    await recordEvents(t, 32);
    const before = await t.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM audit_logs a
        WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.seq = a.seq)`,
    );
    const [{ queued }] = await t.query<{ queued: string }>(
      `SELECT count(*)::text AS queued FROM audit_pending`,
    );
    expect(queued).toBe(before[0].n);
    expect(Number(before[0].n)).toBeGreaterThanOrEqual(32);
    expect((await t.app.get(AuditVerifier).verify()).unsealed).toBeGreaterThanOrEqual(32);
    const r = await sealer.sealOnce();
    expect(r.locked).toBe(true);
    expect(r.sealed).toBe(Number(before[0].n));
    const rows = await t.query<{ chain_pos: string; seq: string }>(
      `SELECT c.chain_pos::text, a.seq::text FROM audit_logs a
         LEFT JOIN audit_chain c ON c.seq = a.seq AND c.occurred_at = a.occurred_at ORDER BY c.chain_pos`,
    );
    expect(rows.map((x) => Number(x.chain_pos))).toEqual(rows.map((_, i) => i + 1));
    expect((await t.query(`SELECT 1 FROM audit_pending`)).length).toBe(0);
    const seqs = rows.map((x) => Number(x.seq));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const cps = await t.query<{ last_pos: string }>(
      `SELECT last_pos::text FROM audit_checkpoints c ORDER BY c.last_pos`,
    );
    expect(cps.map((c) => Number(c.last_pos)).slice(0, 3)).toEqual([10, 20, 30]);
    const v = await t.app.get(AuditVerifier).verify();
    expect(v).toMatchObject({
      valid: true,
      firstBrokenSeq: null,
      reason: null,
      unsealed: 0,
      checked: rows.length,
    });
    expect(v.checkpointsChecked).toBe(cps.length);
    expect(await sealer.sealOnce()).toEqual({ locked: true, sealed: 0, checkpoints: 0 });
  });

  it("the sealer's batch read is one prepared statement per batch size, whose generic plan serves every run", async () => {
    // With `LIMIT $2` PostgreSQL's plan cache planned every run over every partition (custom plans only).
    const { result, statements } = await onOneConnection(t, async () => {
      const [{ locked }] = await t.app
        .get<Tx>(TransactionHost)
        .tx.query<{ locked: boolean }[]>('SELECT pg_try_advisory_xact_lock($1) AS locked', [SEALER_LOCK_KEY]);
      expect(locked).toBe(true);
      let sealed = 0;
      for (let run = 0; run < 8; run++) {
        await recordEvents(t, 3);
        sealed += (await sealer.sealPending(undefined, 1000)).sealed;
      }
      return sealed;
    }, [queuedEventsSql(1000)]);
    expect(result).toBe(24);
    expect(statements).toHaveLength(1);
    expect(statements[0].generic + statements[0].custom).toBeGreaterThanOrEqual(8);
    expect(statements[0].generic).toBeGreaterThan(0);
    const v = await t.app.get(AuditVerifier).verify();
    expect(v.valid).toBe(true);
    expect(v.unsealed).toBe(0);
  });

  it('the hash is SHA-256(prev_hash ‖ canonical text) recomputed identically from the stored row', async () => {
    const rows = await t.query<ChainRow>(
      `SELECT ${canonicalSelect('a', 'c')} FROM audit_chain c JOIN audit_logs a ON a.seq = c.seq AND a.occurred_at = c.occurred_at
        WHERE c.chain_pos <= 3 ORDER BY c.chain_pos`,
    );
    for (const row of rows)
      expect(eventHash(row.prev_hash as Buffer, row).equals(row.hash as Buffer)).toBe(true);
    expect(rows[0].prev_hash?.equals(Buffer.alloc(32))).toBe(true);
    expect(rows[1].prev_hash?.equals(rows[0].hash as Buffer)).toBe(true);
  });

  it('audit_logs and audit_chain refuse every UPDATE, DELETE and TRUNCATE (also of a partition)', async () => {
    const first = `seq = (SELECT c.seq FROM audit_chain c WHERE c.chain_pos = 1)`;
    await expect(t.query(`UPDATE audit_logs SET description = 'x' WHERE ${first}`)).rejects.toThrow(
      /append-only/,
    );
    await expect(t.query(`UPDATE audit_logs SET seq = seq WHERE ${first}`)).rejects.toThrow(/append-only/);
    await expect(t.query(`DELETE FROM audit_logs WHERE ${first}`)).rejects.toThrow(/append-only/);
    await expect(t.query(`TRUNCATE audit_logs`)).rejects.toThrow(/append-only/);
    await expect(t.query(`TRUNCATE "${monthPartition(new Date()).name}"`)).rejects.toThrow(/append-only/);
    await expect(t.query(`UPDATE audit_chain SET hash = hash WHERE chain_pos = 1`)).rejects.toThrow(
      /append-only/,
    );
    await expect(t.query(`UPDATE audit_chain SET chain_pos = 999 WHERE chain_pos = 1`)).rejects.toThrow(
      /append-only/,
    );
    await expect(t.query(`DELETE FROM audit_chain WHERE chain_pos = 1`)).rejects.toThrow(/append-only/);
    await expect(t.query(`TRUNCATE audit_chain`)).rejects.toThrow(/append-only/);
    await expect(t.query(`TRUNCATE "${chainPartitionName(monthPartition(new Date()))}"`)).rejects.toThrow(
      /append-only/,
    );
    await expect(t.query(`UPDATE audit_checkpoints SET event_count = 1`)).rejects.toThrow(/append-only/);
    await expect(t.query(`DELETE FROM audit_checkpoints`)).rejects.toThrow(/append-only/);
    await expect(t.query(`TRUNCATE audit_archives`)).rejects.toThrow(/append-only/);
  });

  it('an event is chained at most once, at one position; the queue holds exactly the committed events', async () => {
    await recordEvents(t, 1);
    const [pending] = await t.query<{ seq: string; occurred_at: Date }>(
      `SELECT seq::text, occurred_at FROM audit_pending ORDER BY seq DESC LIMIT 1`,
    );
    // A second position for an event already chained: refused (the sealer's DELETE from the queue
    // would have failed first; this is the table's own guarantee).
    const [chained] = await t.query<{ pos: string; seq: string; occurred_at: Date }>(
      `SELECT chain_pos::text AS pos, seq::text, occurred_at FROM audit_chain ORDER BY chain_pos DESC LIMIT 1`,
    );
    await expect(
      t.query(
        `INSERT INTO audit_chain (chain_pos, seq, occurred_at, prev_hash, hash)
         VALUES ($1, $2, $3, sha256('p'::bytea), sha256('h'::bytea))`,
        [String(BigInt(chained.pos) + 1n), chained.seq, chained.occurred_at],
      ),
    ).rejects.toThrow(/duplicate key value violates unique constraint .*seq/);
    expect(pending.seq).not.toBe(chained.seq);
    // A rolled-back insert leaves nothing queued.
    const runner = t.dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      await runner.query(
        `INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, description)
         VALUES (gen_random_uuid(), now(), 'system.started', 'system', 'success', 'info', 'system', 'rolled back')`,
      );
      const [{ n }] = await runner.query(`SELECT count(*)::int AS n FROM audit_pending`);
      expect(n).toBeGreaterThanOrEqual(2);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
    const [{ n }] = await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_pending`);
    expect(n).toBe(1);
    expect((await sealer.sealOnce()).sealed).toBe(1);
  });

  it('a seq range is checked over its sealed events, however many pending events lie in between; unsealed counts the range', async () => {
    expect((await sealer.sealOnce()).locked).toBe(true);
    const [{ last }] = await t.query<{ last: string }>(`SELECT max(seq)::text AS last FROM audit_logs`);
    const verifier = t.app.get(AuditVerifier);
    const sealed = (await verifier.verify()).checked;
    // More pending events than the verifier's first seq window (1,024): the lookups of the range's
    // first and last sealed events have to widen their windows.
    await recordEvents(t, 1100);
    const [{ newest }] = await t.query<{ newest: string }>(`SELECT max(seq)::text AS newest FROM audit_logs`);
    const next = (BigInt(last) + 1n).toString();
    expect((await verifier.verify()).unsealed).toBe(1100);
    expect(await verifier.verify({ fromSeq: '1', toSeq: last })).toMatchObject({
      valid: true,
      checked: sealed,
      unsealed: 0,
    });
    expect(await verifier.verify({ fromSeq: '1', toSeq: newest })).toMatchObject({
      valid: true,
      checked: sealed,
      unsealed: 1100,
    });
    // Every event from `next` on is pending: nothing to check yet, and nothing broken.
    expect(await verifier.verify({ fromSeq: next })).toMatchObject({
      valid: true,
      checked: 0,
      unsealed: 1100,
      reason: null,
    });
    expect((await sealer.sealOnce()).sealed).toBe(1100);
    expect(await verifier.verify({ fromSeq: next, toSeq: newest })).toMatchObject({
      valid: true,
      checked: 1100,
      unsealed: 0,
    });
    expect(await verifier.verify({ fromSeq: '0', toSeq: '999999999999' })).toMatchObject({
      valid: true,
      checked: sealed + 1100,
    });
  });

  it('GET /audit-logs/verify: admin only, recorded as audit.verified with the result', async () => {
    const admin = await loginAdmin(t.http);
    const res = await t.http
      .get('/api/v1/audit-logs/verify?fromSeq=1')
      .set(...bearer(admin))
      .expect(200);
    expect(res.body).toMatchObject({ valid: true, firstBrokenSeq: null, reason: null });
    expect(res.body.checked).toBeGreaterThan(30);
    const [e] = await auditEvents(t, `action = 'audit.verified'`);
    expect(e.metadata.result).toMatchObject({ valid: true, fromSeq: '1', toSeq: null });
    const user = await createUser(t.http, admin);

    await t.http
      .get('/api/v1/audit-logs/verify')
      .set(...bearer(user.token))
      .expect(403);
    await t.http
      .get('/api/v1/audit-logs/verify?fromSeq=abc')
      .set(...bearer(admin))
      .expect(400);
    await sealer.sealOnce();
  });

  it('verify over a seq range checks only that range', async () => {
    const v = await t.app
      .get(AuditVerifier)
      .verify({ fromSeq: await seqAt(t, 5), toSeq: await seqAt(t, 12) });
    expect(v).toMatchObject({ valid: true, checked: 8 });
  });

  describe('tampering (as superuser with session_replication_role = replica)', () => {
    it('one field of one event edited: the first broken seq is that event', async () => {
      const v = await tamperAndVerify(t, (q) =>
        q(`UPDATE audit_logs SET description = 'nothing happened' WHERE ${eventAt(15)}`),
      );
      // checked: the events before it (windows of 7 positions: 1–7, 8–14, then 15 opens a window).
      expect(v).toMatchObject({ valid: false, firstBrokenSeq: await seqAt(t, 15), checked: 14 });
      expect(v.reason).toMatch(/altered/);
    });

    it('an event deleted: the next event is broken', async () => {
      const v = await tamperAndVerify(t, (q) => deleteEvents(q, 15));
      expect(v).toMatchObject({ valid: false, firstBrokenSeq: await seqAt(t, 16), checked: 14 });
      expect(v.reason).toMatch(/missing|deleted/);
    });

    it('a range links its first event to the event before it: an edit before the range is outside it, a deletion there breaks the range', async () => {
      const fromSeq = await seqAt(t, 16);
      const toSeq = await seqAt(t, 25);
      const edited = await tamperAndVerify(
        t,
        (q) => q(`UPDATE audit_logs SET description = 'nothing happened' WHERE ${eventAt(15)}`),
        { fromSeq, toSeq },
      );
      expect(edited).toMatchObject({ valid: true, checked: 10 });
      const deleted = await tamperAndVerify(t, (q) => deleteEvents(q, 15), {
        fromSeq,
        toSeq,
      });
      expect(deleted).toMatchObject({ valid: false, firstBrokenSeq: fromSeq, checked: 0 });
      expect(deleted.reason).toMatch(/missing/);
      const inside = await tamperAndVerify(
        t,
        (q) => q(`UPDATE audit_chain SET prev_hash = sha256(prev_hash) WHERE chain_pos = 23`),
        { fromSeq, toSeq, batchSize: 4 },
      );
      expect(inside).toMatchObject({ valid: false, firstBrokenSeq: await seqAt(t, 23), checked: 7 });
      expect(inside.reason).toMatch(/prev_hash/);
    });

    it('a forged event inserted into the chain (with a correct SHA-256): the event after it is broken', async () => {
      const after = await seqAt(t, 15);
      const v = await tamperAndVerify(t, async (q) => {
        // Positions from 15 on move up by one (in two steps: the key is checked row by row).
        await q(`UPDATE audit_chain SET chain_pos = chain_pos + 1000001 WHERE chain_pos >= 15`);
        await q(`UPDATE audit_chain SET chain_pos = chain_pos - 1000000 WHERE chain_pos > 1000000`);
        // A copy of event 14 with another id, seq and text, at position 15, linked to 14, hashed correctly.
        await q(
          `INSERT INTO audit_logs SELECT (jsonb_populate_record(a, jsonb_build_object(
             'id', '00000000-0000-4000-8000-000000000001', 'seq', 900000,
             'description', 'Forged: admin approved everything'))).* FROM audit_logs a WHERE ${eventAt(14)}`,
        );
        const [prev] = await q<{ hash: Buffer }>(`SELECT hash FROM audit_chain WHERE chain_pos = 14`);
        const [forged] = await q<ChainRow>(
          `SELECT ${canonicalSelect('a')} FROM audit_logs a WHERE a.seq = 900000`,
        );
        forged.chain_pos = '15';
        await q(
          `INSERT INTO audit_chain (chain_pos, seq, occurred_at, prev_hash, hash)
           SELECT 15, a.seq, a.occurred_at, $1, $2 FROM audit_logs a WHERE a.seq = 900000`,
          [prev.hash, eventHash(prev.hash, forged)],
        );
      });
      expect(v).toMatchObject({ valid: false, firstBrokenSeq: after });
    });

    it('the chain recomputed from an event on without the key: the first checkpoint after it disagrees', async () => {
      const v = await tamperAndVerify(t, async (q) => {
        await q(`UPDATE audit_logs SET description = 'rewritten' WHERE ${eventAt(15)}`);
        const rows = await q<ChainRow>(
          `SELECT ${canonicalSelect('a', 'c')} FROM audit_chain c JOIN audit_logs a ON a.seq = c.seq AND a.occurred_at = c.occurred_at
            WHERE c.chain_pos >= 14 ORDER BY c.chain_pos`,
        );
        let prev = rows[0].hash as Buffer;
        for (const row of rows.slice(1)) {
          const hash = eventHash(prev, row);
          await q(`UPDATE audit_chain SET prev_hash = $1, hash = $2 WHERE chain_pos = $3`, [
            prev,
            hash,
            row.chain_pos,
          ]);
          prev = hash;
        }
      });
      expect(v).toMatchObject({ valid: false, firstBrokenSeq: await seqAt(t, 20) });
      expect(v.reason).toMatch(/checkpoint .* rewritten/);
    });

    it('the newest events cut off: the newest checkpoint names the missing event', async () => {
      const [{ pos }] = await t.query<{ pos: string }>(
        `SELECT max(last_pos)::text AS pos FROM audit_checkpoints`,
      );
      const expected = await seqAt(t, Number(pos));
      const v = await tamperAndVerify(t, (q) => deleteEvents(q, Number(pos) - 2, true));
      expect(v).toMatchObject({ valid: false, firstBrokenSeq: expected });
      expect(v.reason).toMatch(/cut off/);
      // Also when the range starts inside the removed events (none of them left to find).
      const ranged = await tamperAndVerify(t, (q) => deleteEvents(q, Number(pos) - 2, true), {
        fromSeq: await seqAt(t, Number(pos) - 1),
      });
      expect(ranged).toMatchObject({ valid: false, firstBrokenSeq: expected, checked: 0 });
      expect(ranged.reason).toMatch(/cut off/);
    });

    it('a forged checkpoint signature is found', async () => {
      const v = await tamperAndVerify(t, (q) =>
        q(`UPDATE audit_checkpoints SET signature = sha256(signature) WHERE last_pos = 20`),
      );
      expect(v).toMatchObject({ valid: false, firstBrokenSeq: await seqAt(t, 20) });
      expect(v.reason).toMatch(/signature/);
    });

    it('after each rolled-back tamper case the trail verifies again', async () => {
      expect(await t.app.get(AuditVerifier).verify()).toMatchObject({ valid: true });
    });
  });
});
