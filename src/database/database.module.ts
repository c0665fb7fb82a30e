import { Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';
import { buildDataSourceOptions, describeTarget, ManagedDataSource } from './typeorm-options';

const logger = new Logger('Database');

/** Embedded servers started by this process, by socket directory, so the DataSource can stop its own. */
const embeddedBySocketDir = new Map<string, EmbeddedPostgresHandle>();

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<DataSourceOptions> => {
        const url = config.databaseUrl;
        if (url) {
          logger.log(`Using ${describeTarget(url)}`);
          return {
            ...buildDataSourceOptions({ kind: 'server', url, poolSize: config.dbPoolSize }),
            migrationsRun: config.migrationsRun,
          };
        }
        const started = Date.now();
        const embedded = await startEmbeddedPostgres(config.embeddedDbDir);
        embeddedBySocketDir.set(embedded.socketDir, embedded);
        logger.log(
          `Using ${describeTarget(undefined, embedded.location)} (started in ${Date.now() - started} ms)`,
        );
        return {
          ...buildDataSourceOptions({ kind: 'embedded', socketDir: embedded.socketDir, port: embedded.port }),
          migrationsRun: config.migrationsRun,
        };
      },
      dataSourceFactory: async (options?: DataSourceOptions) => {
        if (!options) throw new Error('No database options');
        const host = 'host' in options ? options.host : undefined;
        const embedded = host ? embeddedBySocketDir.get(host) : undefined;
        const dataSource = new ManagedDataSource(options, async () => {
          if (!embedded) return;
          embeddedBySocketDir.delete(embedded.socketDir);
          await embedded.stop();
        });
        try {
          return await dataSource.initialize();
        } catch (err) {
          await embedded?.stop();
          throw err;
        }
      },
    }),
  ],
})
export class DatabaseModule {}
