import 'reflect-metadata';
import { Type } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { AppExpressAdapter } from '../../src/common/http/express-adapter';
import { AppLogger } from '../../src/common/logger/app-logger';

export const ADMIN_EMAIL = 'admin@test.example';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestApp {
  app: NestExpressApplication;
  http: TestAgent;
  dataSource: DataSource;
  /** Runs SQL through the app's own pool (on the embedded database there is only one connection). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The PostgreSQL server URL of this test's own database, or undefined when embedded. */
  databaseUrl?: string;
  workDir: string;
  close(): Promise<void>;
}

/** True when the tests run against a PostgreSQL server (TEST_DATABASE_URL set). */
export const onServer = (): boolean => Boolean(process.env.TEST_DATABASE_URL);

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates a fresh database on the server named by TEST_DATABASE_URL. */
export async function createServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL ?? '';
  const name = `test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    url: withDatabase(base, name),
    async drop() {
      const c = new Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestAppOptions {
  /**
   * Use this existing server database (e.g. from createServerDatabase()) instead of a fresh one, so
   * that several app instances share it. The caller drops it; close() leaves it alone.
   */
  databaseUrl?: string;
  /** Extra modules (test-only controllers). */
  imports?: Type[];
}

/**
 * Starts the whole app on its own database: a fresh database on the server when TEST_DATABASE_URL
 * is set (or `options.databaseUrl`), otherwise an in-memory embedded PGlite. The real migrations run
 * at start-up.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const workDir = mkdtempSync(join(tmpdir(), 'audit-test-'));
  const serverDb = options.databaseUrl
    ? { url: options.databaseUrl, drop: () => Promise.resolve() }
    : onServer()
      ? await createServerDatabase()
      : undefined;
  const settings: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    JWT_SECRET: 'test-jwt-secret-that-is-long-enough-000',
    AUDIT_SIGNING_KEY: 'test-audit-signing-key-long-enough-0000',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    EMBEDDED_DB_DIR: 'memory',
    ATTACHMENTS_DIR: join(workDir, 'attachments'),
    AUDIT_SPOOL_DIR: join(workDir, 'spool'),
    REMINDER_SCHEDULER_ENABLED: 'false',
    AUDIT_INTEGRITY_JOBS_ENABLED: 'false',
    AUDIT_ARCHIVE_DIR: join(workDir, 'audit-archive'),
    ...env,
  };
  for (const [k, v] of Object.entries(settings)) process.env[k] = v;
  if (serverDb) process.env.DATABASE_URL = serverDb.url;
  else delete process.env.DATABASE_URL;

  const moduleRef = await Test.createTestingModule({
    imports: [AppModule, ...(options.imports ?? [])],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>(new AppExpressAdapter(), {
    bodyParser: false,
    logger: AppLogger.create(settings.LOG_LEVEL as 'error', 'pretty'),
  });
  await configureApp(app);
  const dataSource = app.get<DataSource>(getDataSourceToken());
  return {
    app,
    http: request(app.getHttpServer()),
    dataSource,
    query: <T>(sql: string, params?: unknown[]) => dataSource.query<T[]>(sql, params),
    databaseUrl: serverDb?.url,
    workDir,
    async close() {
      // A client that is still sending (an aborted upload) must not keep the server from closing.
      (app.getHttpServer()).closeAllConnections();
      await app.close();
      await serverDb?.drop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
