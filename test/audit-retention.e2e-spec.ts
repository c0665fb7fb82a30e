import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { TransactionRunner } from '../src/database/transaction-runner';
import { AuditService } from '../src/modules/audit/audit.service';
import { ArchiveManifest, checkArchive } from '../src/modules/audit/integrity/archive-file';
import { AuditRetention } from '../src/modules/audit/integrity/audit-retention.service';
import { AuditSealer } from '../src/modules/audit/integrity/audit-sealer.service';
import { AuditVerifier } from '../src/modules/audit/integrity/audit-verifier.service';
import { chainPartitionName, monthPartition } from '../src/modules/audit/integrity/partitions';
import { auditEvents } from './support/audit';
import { SIGNING_KEY } from './support/integrity';
import { createTestApp, TestApp } from './support/test-app';

describe('audit retention: archive, manifest, drop, verify still passes (clock set forward)', () => {
  let t: TestApp;
  let manifest: ArchiveManifest;
  let archiveDir: string;
  const now = new Date();
  const current = monthPartition(now);
  const later = new Date(now.getTime());
  later.setUTCMonth(later.getUTCMonth() + 14);

  beforeAll(async () => {
    t = await createTestApp({ AUDIT_CHECKPOINT_EVERY: '7', AUDIT_RETENTION_MONTHS: '13' });
    archiveDir = join(t.workDir, 'audit-archive');
    const audit = t.app.get(AuditService);
    await t.app.get(TransactionRunner).run(() =>
      audit.recordMany(
        Array.from({ length: 20 }, (_, i) => ({
          action: 'system.started' as const,
          actor: { type: 'system' as const, id: null, name: 'System' },
          metadata: { i },
        })),
      ),
    );
    await t.app.get(AuditSealer).sealOnce();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('nothing expires today', async () => {
    expect(await t.app.get(AuditRetention).apply(now)).toEqual([]);
  });

  it('a month holding an event outside the chain (inserted with the triggers off) is not archived', async () => {
    const asSuperuser = async (sql: string): Promise<void> => {
      const qr = t.dataSource.createQueryRunner();
      await qr.connect();
      try {
        await qr.startTransaction();
        await qr.query('SET LOCAL session_replication_role = replica');
        await qr.query(sql);
        await qr.commitTransaction();
      } finally {
        await qr.release();
      }
    };
    await asSuperuser(
      `INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, description)
       VALUES ('00000000-0000-4000-8000-00000000f00d', now(), 'system.started', 'system', 'success', 'info', 'system', 'never queued')`,
    );
    await expect(t.app.get(AuditRetention).apply(later)).rejects.toThrow(
      /holds \d+ events but its chain \d+/,
    );
    expect(existsSync(join(archiveDir, `${current.name}.ndjson.gz`))).toBe(false);
    await asSuperuser(`DELETE FROM audit_logs WHERE id = '00000000-0000-4000-8000-00000000f00d'`);
  });

  it('14 months later: the current month is archived, recorded, and its partition dropped', async () => {
    const [{ n }] = await t.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${current.name}"`);
    const [{ maxPos }] = await t.query<{ maxPos: string }>(
      `SELECT max(chain_pos)::text AS "maxPos" FROM "${chainPartitionName(current)}"`,
    );
    const manifests = await t.app.get(AuditRetention).apply(later);
    expect(manifests.map((m) => m.partition)).toEqual([current.name]);
    manifest = manifests[0];
    expect(manifest.rowCount).toBe(Number(n));
    expect(manifest.last?.pos).toBe(maxPos);
    expect(manifest.first?.pos).toBe('1');

    const dataPath = join(archiveDir, manifest.file);
    expect(existsSync(dataPath)).toBe(true);
    expect(createHash('sha256').update(readFileSync(dataPath)).digest('hex')).toBe(manifest.fileSha256);
    const onDisk = JSON.parse(
      readFileSync(join(archiveDir, `${current.name}.manifest.json`), 'utf8'),
    ) as ArchiveManifest;
    expect(onDisk).toEqual(manifest);
    const lines = gunzipSync(readFileSync(dataPath)).toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(Number(n));
    expect(manifest.checkpoint && BigInt(manifest.checkpoint.lastPos) >= BigInt(maxPos)).toBe(true);

    const parts = await t.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit_logs'::regclass`,
    );
    expect(parts.map((p) => p.name)).not.toContain(current.name);
    expect(parts.map((p) => p.name)).toContain(monthPartition(later, 2).name);
    const chainParts = await t.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit_chain'::regclass`,
    );
    expect(chainParts.map((p) => p.name)).not.toContain(chainPartitionName(current));
    expect(chainParts.map((p) => p.name)).toContain(chainPartitionName(monthPartition(later, 2)));
    const [archive] = await t.query<{ partition_name: string; row_count: string }>(
      `SELECT * FROM audit_archives`,
    );
    expect(archive).toMatchObject({ partition_name: current.name, row_count: n });

    const [event] = await auditEvents(t, `action = 'audit.retention_applied'`);
    expect(event).toMatchObject({ actor_type: 'system', resource_id: current.name });
    expect(event.metadata.manifest).toMatchObject({ fileSha256: manifest.fileSha256, rowCount: Number(n) });
  });

  it('verify still passes after the drop, anchored on the manifest, and after sealing the new events', async () => {
    expect(await t.app.get(AuditVerifier).verify()).toMatchObject({ valid: true, unsealed: 1, archives: 1 });
    await t.app.get(AuditSealer).sealOnce(later);
    const v = await t.app.get(AuditVerifier).verify();
    expect(v).toMatchObject({ valid: true, unsealed: 0, checked: 1 });
    const [row] = await t.query<{ chain_pos: string }>(
      `SELECT c.chain_pos::text FROM audit_logs a JOIN audit_chain c ON c.seq = a.seq AND c.occurred_at = a.occurred_at
        WHERE a.action = 'audit.retention_applied'`,
    );
    expect(BigInt(row.chain_pos)).toBe(BigInt(manifest.last?.pos ?? '0') + 1n);
  });

  it('the offline archive check passes on the archive and fails on an edited one', async () => {
    const dataPath = join(archiveDir, manifest.file);
    expect(await checkArchive(dataPath, SIGNING_KEY)).toMatchObject({
      valid: true,
      checked: manifest.rowCount,
    });
    expect(await checkArchive(dataPath, 'another-key-that-is-long-enough-000000')).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/signature/),
    });

    const original = readFileSync(dataPath);
    const lines = gunzipSync(original).toString('utf8').split('\n');
    const edited = JSON.parse(lines[3]) as Record<string, string>;
    edited.description = 'System did nothing';
    lines[3] = JSON.stringify(edited);
    writeFileSync(dataPath, gzipSync(lines.join('\n')));
    expect(await checkArchive(dataPath, SIGNING_KEY)).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/SHA-256/),
    });

    // Even with the manifest's file hash updated to match, the recomputed chain gives it away.
    const manifestPath = join(archiveDir, `${current.name}.manifest.json`);
    const forged = {
      ...manifest,
      fileSha256: createHash('sha256').update(readFileSync(dataPath)).digest('hex'),
    };
    writeFileSync(manifestPath, JSON.stringify(forged));
    expect(await checkArchive(dataPath, SIGNING_KEY)).toMatchObject({
      valid: false,
      firstBrokenSeq: edited.seq,
      reason: expect.stringMatching(/altered/),
    });
    writeFileSync(dataPath, original);
    writeFileSync(manifestPath, JSON.stringify(manifest));
    expect(await checkArchive(manifestPath, SIGNING_KEY)).toMatchObject({ valid: true });
  });

  it("every partition's search index keeps at most 1 MB of pending entries, also a partition created 14 months on", async () => {
    const rows = await t.query<{ tbl: string; options: string[] | null }>(
      `SELECT tbl.relname AS tbl, idx.reloptions AS options
         FROM pg_inherits i
         JOIN pg_class idx ON idx.oid = i.inhrelid
         JOIN pg_index x ON x.indexrelid = idx.oid
         JOIN pg_class tbl ON tbl.oid = x.indrelid
        WHERE i.inhparent = 'audit_logs_search_idx'::regclass`,
    );
    expect(rows.map((r) => r.tbl)).toContain(monthPartition(later).name);
    for (const r of rows)
      expect({ tbl: r.tbl, options: r.options }).toEqual({
        tbl: r.tbl,
        options: ['gin_pending_list_limit=1024'],
      });
  });
});
