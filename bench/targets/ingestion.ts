import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { TransactionRunner } from '../../src/database/transaction-runner';
import { AuditEventFactory } from '../../src/modules/audit/audit-event.factory';
import { AuditService } from '../../src/modules/audit/audit.service';
import { AUDIT_INSERT_COLUMNS, auditInsertValues } from '../../src/modules/audit/audit-writer';
import type { AuditEventInput, AuditEventRow } from '../../src/modules/audit/audit.types';
import {
  BENCH_ADMIN_EMAIL,
  BENCH_ADMIN_PASSWORD,
  BENCH_JWT_SECRET,
  BENCH_SIGNING_KEY,
} from '../lib/child-app';
import type { BenchContext } from '../lib/context';
import { benchClient } from '../lib/db';
import { failed, table, type TargetResult } from '../lib/report';
import { fmt, fmtInt, fmtRatio, median, nowMs } from '../lib/stats';

const TARGET = '2. Ingestion: AuditService.recordMany vs raw multi-row INSERT';
const GOAL = '≥ 0.7× raw';

/** The raw baseline inserts exactly the columns and values AuditWriter does, with plain `pg`. */
const COLUMNS = AUDIT_INSERT_COLUMNS;
const ROWS_PER_STATEMENT = 1000;

const rowValues = auditInsertValues;

/** An import-like batch: task updates by a handful of users. */
function makeInputs(n: number, rep: number): AuditEventInput[] {
  const out: AuditEventInput[] = [];
  for (let i = 0; i < n; i++) {
    const user = i % 17;
    out.push({
      action: 'user.updated',
      actor: {
        type: 'user',
        id: `bench-user-${user}`,
        name: `Bench User ${user}`,
        email: `user${user}@bench.example`,
      },
      resource: { type: 'user', id: randomUUID(), display: `Imported user ${rep}-${i}` },
      changes: { name: { from: `Old name ${i}`, to: `New name ${i}` } },
      metadata: { source: 'bench-import', batch: rep, index: i },
    });
  }
  return out;
}

async function rawInsert(client: Client, rows: AuditEventRow[]): Promise<void> {
  await client.query('BEGIN');
  try {
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      const tuples = chunk.map((row) => {
        const base = params.length;
        params.push(...rowValues(row));
        return `(${COLUMNS.map((_, i) => `$${base + i + 1}`).join(', ')})`;
      });
      await client.query(
        `INSERT INTO audit_logs (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
        params,
      );
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

/** Runs the whole AppModule in this process (no HTTP) against the bench database. */
export async function createInProcessContext(ctx: BenchContext): Promise<INestApplicationContext> {
  Object.assign(process.env, {
    NODE_ENV: 'production',
    DATABASE_URL: ctx.db.url,
    LOG_LEVEL: 'warn',
    JWT_SECRET: BENCH_JWT_SECRET,
    AUDIT_SIGNING_KEY: BENCH_SIGNING_KEY,
    ADMIN_EMAIL: BENCH_ADMIN_EMAIL,
    ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
    REMINDER_SCHEDULER_ENABLED: 'false',
    AUDIT_SPOOL_DIR: `${ctx.workDir}/inprocess-spool`,
    AUDIT_ARCHIVE_DIR: `${ctx.workDir}/inprocess-archive`,
    ATTACHMENTS_DIR: `${ctx.workDir}/inprocess-attachments`,
    AUDIT_ENABLED: 'true',
  });
  return NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
}

export async function runIngestionTarget(ctx: BenchContext): Promise<TargetResult> {
  const { cfg } = ctx;
  let app: INestApplicationContext | undefined;
  const client = benchClient({ connectionString: ctx.db.url });
  try {
    ctx.progress('target 2: starting the application context in-process');
    app = await createInProcessContext(ctx);
    await client.connect();
    const audit = app.get(AuditService);
    const runner = app.get(TransactionRunner);
    const factory = app.get(AuditEventFactory);
    const n = cfg.ingestRowsPerRep;

    const legs: Array<{
      rep: number;
      mode: 'recordMany' | 'raw';
      rows: number;
      ms: number;
      rowsPerS: number;
    }> = [];
    const leg = async (rep: number, mode: 'recordMany' | 'raw'): Promise<void> => {
      const inputs = makeInputs(n, rep);
      let ms: number;
      if (mode === 'raw') {
        // The same rows, fully built beforehand: the baseline is the database's own limit.
        const rows = inputs.map((i) => factory.build(i));
        const t0 = nowMs();
        await rawInsert(client, rows);
        ms = nowMs() - t0;
      } else {
        const t0 = nowMs();
        const written = await runner.run(() => audit.recordMany(inputs));
        ms = nowMs() - t0;
        if (written !== n) throw new Error(`recordMany returned ${written}, expected ${n}`);
      }
      legs.push({ rep, mode, rows: n, ms, rowsPerS: (n / ms) * 1000 });
    };
    // Warm-up (JIT, plan cache, buffers), not counted.
    await leg(0, 'raw');
    await leg(0, 'recordMany');
    legs.length = 0;
    for (let rep = 1; rep <= cfg.reps; rep++) {
      const order: Array<'raw' | 'recordMany'> =
        rep % 2 === 1 ? ['raw', 'recordMany'] : ['recordMany', 'raw'];
      for (const mode of order) await leg(rep, mode);
      const last = legs.slice(-2);
      ctx.progress(
        `target 2: rep ${rep}: ${last.map((l) => `${l.mode} ${fmtInt(l.rowsPerS)} rows/s`).join(', ')}`,
      );
    }
    const api = median(legs.filter((l) => l.mode === 'recordMany').map((l) => l.rowsPerS));
    const raw = median(legs.filter((l) => l.mode === 'raw').map((l) => l.rowsPerS));
    const r = api / raw;
    return {
      id: 'ingestion',
      target: TARGET,
      measured: `${fmtInt(api)} rows/s`,
      baseline: `${fmtInt(raw)} rows/s`,
      ratio: fmtRatio(r),
      goal: GOAL,
      met: r >= 0.7,
      details: [
        `${fmtInt(n)} rows per repetition, one transaction each, ${ROWS_PER_STATEMENT}-row statements, ${cfg.reps} repetitions per mode interleaved. ` +
          '`recordMany` runs inside `TransactionRunner.run` in an in-process application context (building, redacting and describing the rows is part of its time); ' +
          'the raw baseline inserts the same rows, already built, with `pg` on its own connection (BEGIN, INSERT … VALUES × n, COMMIT).',
        '',
        table(
          ['rep', 'mode', 'rows', 'ms', 'rows/s'],
          legs.map((l) => [String(l.rep), l.mode, fmtInt(l.rows), fmt(l.ms, 0), fmtInt(l.rowsPerS)]),
        ),
      ],
      data: { legs, api, raw, ratio: r },
    };
  } catch (e) {
    return failed('ingestion', TARGET, GOAL, e);
  } finally {
    await client.end().catch(() => undefined);
    await app?.close().catch(() => undefined);
  }
}
