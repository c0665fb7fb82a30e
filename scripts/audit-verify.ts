/**
 * `npm run audit:verify` — verifies the audit trail's hash chain against DATABASE_URL and prints the
 * result as JSON; exit code 1 when the trail is broken, 2 on a usage or connection error.
 *
 *   npm run audit:verify                               the whole chain
 *   npm run audit:verify -- --from-seq 100 --to-seq 200
 *   npm run audit:verify -- --archive data/audit-archive/audit_logs_p202501.ndjson.gz   offline, no database
 *
 * The checkpoint signatures are checked with AUDIT_SIGNING_KEY (the development key when unset,
 * outside production).
 */
import { Client } from 'pg';
import { DEV_AUDIT_SIGNING_KEY, loadEnvironment } from '../src/config/env.validation';
import { checkArchive } from '../src/modules/audit/integrity/archive-file';
import { verifyChain } from '../src/modules/audit/integrity/chain-verifier';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const env = loadEnvironment();
  const key = env.AUDIT_SIGNING_KEY ?? DEV_AUDIT_SIGNING_KEY;
  const archive = arg('--archive');
  if (archive) {
    const result = await checkArchive(archive, key);
    console.log(JSON.stringify({ archive, ...result }, null, 2));
    return result.valid ? 0 : 1;
  }
  if (!env.DATABASE_URL) {
    console.error(
      'DATABASE_URL is not set (the embedded database is single-session: stop the app and point DATABASE_URL at a server, or use --archive)',
    );
    return 2;
  }
  const client = new Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const started = process.hrtime.bigint();
    const result = await verifyChain(
      async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
      key,
      { fromSeq: arg('--from-seq'), toSeq: arg('--to-seq') },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await client.query('COMMIT');
    console.log(
      JSON.stringify(
        {
          ...result,
          seconds: Number(seconds.toFixed(3)),
          rowsPerSecond: Math.round(result.checked / seconds),
        },
        null,
        2,
      ),
    );
    return result.valid ? 0 : 1;
  } finally {
    await client.end();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  },
);
