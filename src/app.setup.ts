import { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { resolveRequestId } from './common/context/request-id';
import { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { ClsMiddleware } from 'nestjs-cls';
import { clsMiddlewareOptions } from './common/context/cls-options';
import { createValidationPipe } from './common/pipes/validation.pipe';
import { AppConfig } from './config/app-config';
import { setupSwagger } from './swagger';

/** Everything main.ts and the tests share: one HTTP behaviour everywhere. Initialises the app. */
export async function configureApp(app: NestExpressApplication): Promise<INestApplication> {
  const config = app.get(AppConfig);
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  // The request context first: request id, actor, IP for everything that follows (incl. errors).
  app.use(new ClsMiddleware(clsMiddlewareOptions).use);
  app.use(helmet());
  const origins = config.corsOrigins;
  if (origins.length > 0) app.enableCors({ origin: origins, exposedHeaders: ['X-Request-Id'] });
  app.setGlobalPrefix('api/v1', { exclude: ['health'] });
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  setupSwagger(app);
  await app.init();
  // Paths outside the /api/v1 prefix that no route matched: the standard 404 instead of Express's HTML.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next();
    const requestId =
      (res.getHeader('X-Request-Id') as string | undefined) ?? resolveRequestId(req.headers['x-request-id']);
    res
      .status(404)
      .json({ statusCode: 404, error: 'Not Found', message: `Cannot ${req.method} ${req.path}`, requestId });
  });
  return app;
}
