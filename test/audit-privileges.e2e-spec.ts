import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/typeorm-options';
import { verifyChain } from '../src/modules/audit/integrity/chain-verifier';
import { createServerDatabase, onServer } from './support/test-app';

/** The least-privilege setup of docs/operations.md, on a fresh database with roles of its own. */
(onServer() ? describe : describe.skip)(
  'least privilege (server): the app role may only INSERT and SELECT',
  () => {
    const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const owner = `audit_owner_${suffix}`;
    const appRole = `audit_app_${suffix}`;
    let db: { url: string; drop(): Promise<void> };
    let superuser: Client;
    let app: Client;
    const as = (url: string, user: string): string => {
      const u = new URL(url);
      u.username = user;
      u.password = 'pw';
      return u.toString();
    };

    beforeAll(async () => {
      db = await createServerDatabase();
      superuser = new Client({ connectionString: db.url });
      await superuser.connect();
      await superuser.query(`CREATE ROLE "${owner}" LOGIN PASSWORD 'pw'`);
      await superuser.query(`CREATE ROLE "${appRole}" LOGIN PASSWORD 'pw'`);
      await superuser.query(`ALTER SCHEMA public OWNER TO "${owner}"`);
      // Extensions are installed once by a superuser (docs/operations.md); the migration's
      // CREATE EXTENSION IF NOT EXISTS then has nothing to do.
      await superuser.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
      await superuser.query('CREATE EXTENSION IF NOT EXISTS btree_gin');
      const migrator = new DataSource({
        ...buildDataSourceOptions({ kind: 'server', url: as(db.url, owner), poolSize: 1 }),
        logging: false,
      });
      await migrator.initialize();
      await migrator.runMigrations({ transaction: 'each' });
      // The grants of docs/operations.md, run by the owner.
      for (const sql of [
        `GRANT USAGE ON SCHEMA public TO "${appRole}"`,
        `GRANT SELECT, INSERT ON audit_logs, audit_chain, audit_checkpoints TO "${appRole}"`,
        `GRANT SELECT, INSERT, DELETE ON audit_pending TO "${appRole}"`,
        `GRANT SELECT ON audit_archives TO "${appRole}"`,
        `GRANT USAGE ON SEQUENCE audit_logs_seq_seq TO "${appRole}"`,
      ])
        await migrator.query(sql);
      await migrator.destroy();
      app = new Client({ connectionString: as(db.url, appRole) });
      await app.connect();
    });
    afterAll(async () => {
      await app?.end();
      await superuser?.end();
      await db?.drop();
      const c = new Client({ connectionString: process.env.TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP ROLE IF EXISTS "${appRole}"`);
      await c.query(`DROP ROLE IF EXISTS "${owner}"`);
      await c.end();
    });

    it('the app role can INSERT (the trigger queues the event), chain it and dequeue it; verify runs with SELECT only', async () => {
      await app.query(
        `INSERT INTO audit_logs (id, occurred_at, action, category, outcome, severity, actor_type, description)
       VALUES (gen_random_uuid(), now(), 'system.started', 'system', 'success', 'info', 'system', 'app role insert')`,
      );
      const { rows } = await app.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_logs`);
      expect(rows[0].n).toBe('1');
      await app.query(
        `INSERT INTO audit_chain (chain_pos, seq, occurred_at, prev_hash, hash)
         SELECT 1, p.seq, p.occurred_at, '\\x${'00'.repeat(32)}', '\\x${'11'.repeat(32)}' FROM audit_pending p`,
      );
      expect((await app.query(`DELETE FROM audit_pending`)).rowCount).toBe(1);
      const result = await verifyChain(
        async <T>(sql: string, params?: unknown[]) => (await app.query(sql, params)).rows as T[],
        'k'.repeat(32),
      );
      expect(result.reason).toMatch(/altered/); // the fake hash above: what matters is that it ran
    });

    it.each([
      ['UPDATE of an event', `UPDATE audit_logs SET description = 'x'`],
      ['UPDATE of the chain', `UPDATE audit_chain SET hash = hash`],
      ['DELETE from the chain', `DELETE FROM audit_chain`],
      ['TRUNCATE of the chain', `TRUNCATE audit_chain`],
      ['UPDATE of the queue', `UPDATE audit_pending SET seq = seq`],
      ['DELETE', `DELETE FROM audit_logs`],
      ['TRUNCATE', `TRUNCATE audit_logs`],
      ['TRUNCATE of a partition', `TRUNCATE audit_logs_default`],
      ['SELECT from a partition directly', `SELECT * FROM audit_logs_default`],
      ['DROP TABLE', `DROP TABLE audit_logs`],
      ['DETACH PARTITION', `ALTER TABLE audit_logs DETACH PARTITION audit_logs_default`],
      ['DISABLE TRIGGER', `ALTER TABLE audit_logs DISABLE TRIGGER USER`],
      ['session_replication_role', `SET session_replication_role = replica`],
      ['UPDATE of a checkpoint', `UPDATE audit_checkpoints SET event_count = 0`],
      ['DELETE of a checkpoint', `DELETE FROM audit_checkpoints`],
      ['INSERT into audit_archives', `INSERT INTO audit_archives (id) VALUES (gen_random_uuid())`],
    ])('%s is refused by privileges (not only by the trigger)', async (_label, sql) => {
      await expect(app.query(sql)).rejects.toThrow(/permission denied|must be owner|must be the owner/);
    });
  },
);
