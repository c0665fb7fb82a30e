import { Injectable, Logger } from '@nestjs/common';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../../config/app-config';
import type { AuditEventRow } from './audit.types';

const ACTIVE = 'audit-spool.ndjson';

/**
 * Append-only NDJSON file of events that could not be written to the database. Replayed into the
 * table when the database is back; events carry their id, so a replay never doubles an event.
 */
@Injectable()
export class AuditSpool {
  private readonly logger = new Logger(AuditSpool.name);
  private readonly dir: string;

  constructor(config: AppConfig) {
    this.dir = config.auditSpoolDir;
  }

  append(rows: AuditEventRow[]): void {
    if (rows.length === 0) return;
    mkdirSync(this.dir, { recursive: true });
    const fd = openSync(join(this.dir, ACTIVE), 'a', 0o600);
    try {
      writeSync(fd, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.logger.warn(`Spooled ${rows.length} audit event(s) to ${this.dir}`);
  }

  hasPending(): boolean {
    return existsSync(this.dir) && readdirSync(this.dir).some((f) => f.endsWith('.ndjson'));
  }

  /**
   * Moves the spool aside and hands its events to `insert` in batches; a file is deleted only once
   * every event in it was inserted. Returns how many events were replayed.
   */
  async replay(insert: (rows: AuditEventRow[]) => Promise<void>, batchSize = 500): Promise<number> {
    if (!existsSync(this.dir)) return 0;
    if (existsSync(join(this.dir, ACTIVE)))
      renameSync(join(this.dir, ACTIVE), join(this.dir, `audit-spool.${Date.now()}.replaying.ndjson`));
    const files = readdirSync(this.dir)
      .filter((f) => f.endsWith('.replaying.ndjson'))
      .sort();
    let count = 0;
    for (const file of files) {
      const path = join(this.dir, file);
      const rows = readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line.trim().length > 0)
        .flatMap((line) => {
          try {
            const raw = JSON.parse(line) as AuditEventRow & { occurredAt: string };
            return [{ ...raw, occurredAt: new Date(raw.occurredAt) }];
          } catch {
            this.logger.error(`Skipping a corrupt line in ${file}`);
            return [];
          }
        });
      for (let i = 0; i < rows.length; i += batchSize) await insert(rows.slice(i, i + batchSize));
      unlinkSync(path);
      count += rows.length;
    }
    return count;
  }
}
