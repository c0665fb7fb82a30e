import { Client } from 'pg';
import { TransactionRunner } from '../src/database/transaction-runner';
import { AuditService } from '../src/modules/audit/audit.service';
import { AuditSealer } from '../src/modules/audit/integrity/audit-sealer.service';
import { AuditVerifier } from '../src/modules/audit/integrity/audit-verifier.service';
import { createTestApp, onServer, TestApp } from './support/test-app';

const record = (t: TestApp, n: number, tag: string): Promise<number> =>
  t.app.get(TransactionRunner).run(() =>
    t.app.get(AuditService).recordMany(
      Array.from({ length: n }, (_, i) => ({
        action: 'system.started' as const,
        actor: { type: 'system' as const, id: null, name: 'System' },
        metadata: { tag, i },
      })),
    ),
  );

(onServer() ? describe : describe.skip)(
  'audit sealer concurrency (server: two app instances, one database)',
  () => {
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      a = await createTestApp({ AUDIT_CHECKPOINT_EVERY: '25' });
      b = await createTestApp({ AUDIT_CHECKPOINT_EVERY: '25' }, { databaseUrl: a.databaseUrl });
    });
    afterAll(async () => {
      await b?.app.close();
      await a?.close();
    });

    it('two instances inserting and sealing at once: one sealer at a time, the chain stays dense and valid', async () => {
      const work: Promise<unknown>[] = [];
      for (let round = 0; round < 15; round++) {
        work.push(record(a, 7, `a${round}`), record(b, 5, `b${round}`));
        work.push(a.app.get(AuditSealer).sealOnce(), b.app.get(AuditSealer).sealOnce());
      }
      const results = await Promise.all(work);
      const seals = results.filter((r): r is { locked: boolean } => typeof r === 'object' && r !== null);
      expect(seals.some((r) => r.locked)).toBe(true);
      while ((await a.app.get(AuditSealer).sealOnce()).sealed > 0);
      const rows = await a.query<{ pos: string }>(
        `SELECT c.chain_pos::text AS pos FROM audit_logs a
           LEFT JOIN audit_chain c ON c.seq = a.seq AND c.occurred_at = a.occurred_at ORDER BY c.chain_pos`,
      );
      expect(rows.map((r) => Number(r.pos))).toEqual(rows.map((_, i) => i + 1));
      expect(await b.app.get(AuditVerifier).verify()).toMatchObject({
        valid: true,
        unsealed: 0,
        checked: rows.length,
      });
    });

    it('an event committed late with a lower seq is chained after, never skipped or left unsealed', async () => {
      const slow = new Client({ connectionString: a.databaseUrl });
      await slow.connect();
      try {
        await slow.query('BEGIN');
        await slow.query(
          `INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, description)
         VALUES (gen_random_uuid(), now(), 'system.started', 'system', 'success', 'info', 'system', 'slow transaction')`,
        );
        await record(a, 3, 'fast');
        expect((await a.app.get(AuditSealer).sealOnce()).sealed).toBe(3);
        await slow.query('COMMIT');
      } finally {
        await slow.end();
      }
      expect((await a.app.get(AuditSealer).sealOnce()).sealed).toBe(1);
      const rows = await a.query<{ seq: string; pos: string; description: string }>(
        `SELECT a.seq::text AS seq, c.chain_pos::text AS pos, a.description FROM audit_logs a
           JOIN audit_chain c ON c.seq = a.seq AND c.occurred_at = a.occurred_at ORDER BY c.chain_pos DESC LIMIT 4`,
      );
      expect(rows[0].description).toBe('slow transaction');
      expect(rows.slice(1).every((r) => BigInt(r.seq) > BigInt(rows[0].seq))).toBe(true);
      expect(await a.app.get(AuditVerifier).verify()).toMatchObject({ valid: true, unsealed: 0 });
    });
  },
);
