import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppExpressAdapter } from './common/http/express-adapter';
import { AppLogger } from './common/logger/app-logger';
import { AppConfig } from './config/app-config';
import { loadEnvironment, NodeEnv } from './config/env.validation';

async function bootstrap(): Promise<void> {
  // Fail fast, in one line, before anything starts.
  let env;
  try {
    env = loadEnvironment();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
  const logger = AppLogger.create(
    env.LOG_LEVEL,
    env.LOG_FORMAT ?? (env.NODE_ENV === NodeEnv.Production ? 'json' : 'pretty'),
  );
  const app = await NestFactory.create<NestExpressApplication>(AppModule, new AppExpressAdapter(), {
    bodyParser: false,
    logger,
  });
  await configureApp(app);
  const config = app.get(AppConfig);
  await app.listen(config.port);
  const url = await app.getUrl();
  Logger.log(`Listening on ${url.replace('[::1]', 'localhost')} (Swagger UI at /api/docs)`, 'Bootstrap');
}

void bootstrap();
