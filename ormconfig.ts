import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadEnvironment } from './src/config/env.validation';
import { buildDataSourceOptions } from './src/database/typeorm-options';

/**
 * The TypeORM CLI's DataSource (`npm run migration:*`), built by the same options builder as the app.
 * The CLI needs a server: the embedded database is migrated by the app itself at start-up.
 */
const env = loadEnvironment();
if (!env.DATABASE_URL) {
  throw new Error(
    'DATABASE_URL must be set for the TypeORM CLI (the app migrates the embedded database itself at start-up)',
  );
}

export default new DataSource(buildDataSourceOptions({ kind: 'server', url: env.DATABASE_URL, poolSize: 2 }));
