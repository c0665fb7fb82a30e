import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLifecycle } from '../src/modules/audit/audit-lifecycle.service';
import { AuditService } from '../src/modules/audit/audit.service';
import { TransactionRunner } from '../src/database/transaction-runner';
import { createServerDatabase, createTestApp, onServer } from './support/test-app';

describe('audit lifecycle', () => {
  it('records system.started on boot and system.stopped on graceful shutdown', async () => {
    // The same database for two app lives: a fresh server database, or an embedded data directory.
    const dir = mkdtempSync(join(tmpdir(), 'audit-lifecycle-'));
    const server = onServer() ? await createServerDatabase() : undefined;
    const env: Record<string, string> = server ? {} : { EMBEDDED_DB_DIR: join(dir, 'db') };
    try {
      const first = await createTestApp(env, { databaseUrl: server?.url });
      await first.app.close();
      const second = await createTestApp(env, { databaseUrl: server?.url });
      const rows = await second.query<{
        action: string;
        actor_type: string;
        metadata: { signal: string | null };
      }>(`SELECT action, actor_type, metadata FROM audit_logs WHERE category = 'system' ORDER BY seq`);
      expect(rows.map((r) => r.action)).toEqual(['system.started', 'system.stopped', 'system.started']);
      expect(rows.every((r) => r.actor_type === 'system')).toBe(true);
      await second.app.close();
    } finally {
      await server?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists mutating routes that are neither @Audited nor @NoAudit', async () => {
    const t = await createTestApp();
    try {
      expect(t.app.get(AuditLifecycle).unauditedMutatingRoutes()).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('recordMany inserts a batch in one transaction, and rolls back with it', async () => {
    const t = await createTestApp();
    try {
      const audit = t.app.get(AuditService);
      const tx = t.app.get(TransactionRunner);
      const events = Array.from({ length: 2500 }, (_, i) => ({
        action: 'task.created' as const,
        actor: { type: 'system' as const, id: null, name: 'Importer' },
        resource: { type: 'task', id: `imp-${i}`, display: `Imported ${i}` },
      }));
      expect(await tx.run(() => audit.recordMany(events))).toBe(2500);
      await expect(
        tx.run(async () => {
          await audit.recordMany(events.slice(0, 10));
          throw new Error('abort import');
        }),
      ).rejects.toThrow('abort import');
      const [{ n }] = await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM audit_logs WHERE resource_id LIKE 'imp-%'`,
      );
      expect(n).toBe(2500);
      const [first] = await t.query<{ description: string; actor_display: string }>(
        `SELECT description, actor_display FROM audit_logs WHERE resource_id = 'imp-0'`,
      );
      expect(first).toEqual({ description: 'Importer created task “Imported 0”', actor_display: 'Importer' });
    } finally {
      await t.close();
    }
  });
});
