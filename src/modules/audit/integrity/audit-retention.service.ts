import { Injectable, Logger } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createGzip } from 'node:zlib';
import { AppConfig } from '../../../config/app-config';
import type { Tx } from '../../../database/transaction';
import { TransactionRunner } from '../../../database/transaction-runner';
import { AuditService } from '../audit.service';
import { ArchiveLine, ArchiveManifest, fileSha256 } from './archive-file';
import { AuditSealer, CheckpointRow } from './audit-sealer.service';
import { canonicalSelect, ChainRow, isoMicros } from './canonical';
import { AuditClock } from './clock';
import { runPartitionDdl } from './ddl-lock';
import { SEALER_LOCK_KEY } from './locks';
import { PartitionManager } from './partition-manager.service';
import { chainPartitionName, isExpired, MonthPartition, parsePartitionName } from './partitions';

const BATCH = 5000;

/**
 * Retention (AUDIT_RETENTION_MONTHS): each expired monthly partition is archived to AUDIT_ARCHIVE_DIR
 * as gzip NDJSON plus a manifest, the manifest is stored in audit_archives (verify anchors on it) and
 * recorded as audit.retention_applied, then the partition is detached and dropped, all in one
 * transaction per partition. DETACH/DROP are the table owner's privilege (see docs/operations.md).
 */
@Injectable()
export class AuditRetention {
  private readonly logger = new Logger('AuditRetention');

  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly transactions: TransactionRunner,
    private readonly config: AppConfig,
    private readonly sealer: AuditSealer,
    private readonly partitions: PartitionManager,
    private readonly audit: AuditService,
    private readonly clock: AuditClock,
  ) {}

  /** Creates the partitions due at `now`, then archives and drops every expired one. */
  async apply(now: Date = this.clock.now()): Promise<ArchiveManifest[]> {
    if (!(await this.transactions.run(() => this.partitions.ownsAuditLogs()))) return [];
    await this.partitions.ensure(now);
    const expired = (await this.partitions.list())
      .map((name) => parsePartitionName(name))
      .filter(
        (p): p is MonthPartition => p !== undefined && isExpired(p, now, this.config.auditRetentionMonths),
      );
    const manifests: ArchiveManifest[] = [];
    for (const p of expired) manifests.push(await this.transactions.run(() => this.archive(p, now)));
    return manifests;
  }

  private async archive(p: MonthPartition, now: Date): Promise<ArchiveManifest> {
    const tx = this.txHost.tx;
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SEALER_LOCK_KEY]);
    // Writers into this partition finish first; readers are not blocked until the DETACH at the end.
    await tx.query(`LOCK TABLE "${p.name}" IN EXCLUSIVE MODE`);
    const chain = chainPartitionName(p);
    await this.sealer.sealPending(now);
    const checkpoint = await this.sealer.checkpointNow(now);

    const dir = resolve(this.config.auditArchiveDir);
    mkdirSync(dir, { recursive: true });
    const file = `${p.name}.ndjson.gz`;
    const dataPath = join(dir, file);
    const manifestPath = join(dir, `${p.name}.manifest.json`);
    this.transactions.afterRollback(() => {
      rmSync(dataPath, { force: true });
      rmSync(manifestPath, { force: true });
    });

    const gzip = createGzip();
    const out = createWriteStream(dataPath);
    gzip.pipe(out);
    const closed = once(out, 'close');
    let count = 0;
    let first: ChainRow | null = null;
    let last: ChainRow | null = null;
    const exits: Record<string, string> = {};
    let cursor = '0';
    for (;;) {
      const rows = await tx.query<ChainRow[]>(
        `SELECT ${canonicalSelect('p', 'c')} FROM "${chain}" c JOIN "${p.name}" p ON p.seq = c.seq AND p.occurred_at = c.occurred_at
          WHERE c.chain_pos > $1 ORDER BY c.chain_pos LIMIT ${BATCH}`,
        [cursor],
      );
      for (const row of rows) {
        if (last && BigInt(row.chain_pos ?? '0') !== BigInt(last.chain_pos ?? '0') + 1n)
          exits[last.chain_pos ?? ''] = (last.hash as Buffer).toString('hex');
        first ??= row;
        last = row;
        count++;
        const line = {
          ...row,
          prev_hash: (row.prev_hash as Buffer).toString('hex'),
          hash: (row.hash as Buffer).toString('hex'),
        };
        if (!gzip.write(JSON.stringify(line satisfies ArchiveLine) + '\n')) await once(gzip, 'drain');
      }
      if (rows.length < BATCH) break;
      cursor = rows[rows.length - 1].chain_pos ?? '0';
    }
    gzip.end();
    await closed;
    if (last) exits[last.chain_pos ?? ''] = (last.hash as Buffer).toString('hex');
    const [{ n }] = await tx.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM audit_pending WHERE occurred_at >= $1 AND occurred_at < $2`,
      [p.from, p.to],
    );
    if (n !== '0') throw new Error(`${p.name} still has ${n} unsealed events; retention skipped`);
    const [{ total }] = await tx.query<{ total: string }[]>(
      `SELECT count(*)::text AS total FROM "${p.name}"`,
    );
    if (Number(total) !== count)
      throw new Error(
        `${p.name} holds ${total} events but its chain ${count}; retention skipped (verify the chain)`,
      );

    const manifest: ArchiveManifest = {
      format: 'audit-archive/v1',
      partition: p.name,
      rangeFrom: p.from.toISOString(),
      rangeTo: p.to.toISOString(),
      file,
      fileSha256: await fileSha256(dataPath),
      rowCount: count,
      first: first && {
        pos: first.chain_pos ?? '',
        seq: first.seq ?? '',
        hash: (first.hash as Buffer).toString('hex'),
        prevHash: (first.prev_hash as Buffer).toString('hex'),
      },
      last: last && {
        pos: last.chain_pos ?? '',
        seq: last.seq ?? '',
        hash: (last.hash as Buffer).toString('hex'),
      },
      exits,
      checkpoint: checkpoint ? checkpointJson(checkpoint, await this.previousSignature(checkpoint)) : null,
      createdAt: isoMicros(now),
    };
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');

    await tx.query(
      `INSERT INTO audit_archives (id, partition_name, range_from, range_to, file_name, file_sha256, row_count,
         first_pos, last_pos, first_seq, last_seq, first_hash, last_hash, exits, checkpoint_id, manifest, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        randomUUID(),
        p.name,
        p.from,
        p.to,
        file,
        manifest.fileSha256,
        count,
        first?.chain_pos ?? null,
        last?.chain_pos ?? null,
        first?.seq ?? null,
        last?.seq ?? null,
        first?.hash ?? null,
        last?.hash ?? null,
        JSON.stringify(exits),
        checkpoint?.id ?? null,
        JSON.stringify(manifest),
        now,
      ],
    );
    await this.audit.record({
      action: 'audit.retention_applied',
      actor: { type: 'system', id: null, name: 'System' },
      resource: { type: 'audit_partition', id: p.name, display: p.name },
      metadata: { manifest },
      occurredAt: now,
    });
    // Each needs an ACCESS EXCLUSIVE lock on audit_logs or audit_chain: tried with a short lock wait so
    // that the app's statements never queue behind them for long (runPartitionDdl).
    const ddl = [
      `ALTER TABLE "audit_logs" DETACH PARTITION "${p.name}"`,
      `DROP TABLE "${p.name}"`,
      `ALTER TABLE "audit_chain" DETACH PARTITION "${chain}"`,
      `DROP TABLE "${chain}"`,
    ];
    await runPartitionDdl((sql, params) => tx.query(sql, params), ddl, this.config.auditDdlLock);
    this.logger.log(`archived ${count} events of ${p.name} to ${dataPath} and dropped the partition`);
    return manifest;
  }

  private async previousSignature(cp: CheckpointRow): Promise<Buffer | null> {
    if (!cp.previous_id) return null;
    const [row] = await this.txHost.tx.query<{ signature: Buffer }[]>(
      `SELECT signature FROM audit_checkpoints WHERE id = $1`,
      [cp.previous_id],
    );
    return row?.signature ?? null;
  }
}

function checkpointJson(
  cp: CheckpointRow,
  previousSignature: Buffer | null,
): NonNullable<ArchiveManifest['checkpoint']> {
  return {
    id: cp.id,
    lastPos: cp.last_pos,
    lastSeq: cp.last_seq,
    lastHash: cp.last_hash.toString('hex'),
    eventCount: cp.event_count,
    createdAt: cp.created_at,
    previousId: cp.previous_id,
    previousSignature: previousSignature?.toString('hex') ?? null,
    signature: cp.signature.toString('hex'),
  };
}
