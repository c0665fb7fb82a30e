import { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { resolveRequestId } from './common/context/request-id';
import { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { ClsMiddleware } from 'nestjs-cls';
import { clsMiddlewareOptions } from './common/context/cls-options';
import { RejectNulPipe } from './common/pipes/reject-nul.pipe';
import { createValidationPipe } from './common/pipes/validation.pipe';
import { AppConfig } from './config/app-config';
import { setupSwagger } from './swagger';

/** Everything main.ts and the tests share: one HTTP behaviour everywhere. Initialises the app. */
export async function configureApp(app: NestExpressApplication): Promise<INestApplication> {
  const config = app.get(AppConfig);
  app.disable('x-powered-by');
  // No ETag: every JSON answer would be hashed (SHA-1 of the whole body) for conditional GETs that an
  // API of changing, access-controlled data does not serve; a list page of 50 events is ~35 KB.
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  // The request context first: request id, actor, IP for everything that follows (incl. errors).
  app.use(new ClsMiddleware(clsMiddlewareOptions).use);
  // upgrade-insecure-requests would send Swagger UI's calls to https:// on a plain-http dev server.
  app.use(
    helmet({
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: config.isProduction ? [] : null } },
    }),
  );
  const origins = config.corsOrigins;
  if (origins.length > 0) app.enableCors({ origin: origins, exposedHeaders: ['X-Request-Id'] });
  app.setGlobalPrefix('api/v1', { exclude: ['health'] });
  app.useGlobalPipes(new RejectNulPipe(), createValidationPipe());
  app.enableShutdownHooks();
  setupSwagger(app);
  await app.init();
  answerMalformedRequestsInShape(app.getHttpServer());
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

/**
 * Requests Node's HTTP parser refuses before Express sees them (a request line or headers over the
 * size limit, malformed HTTP) still get the standard error body instead of a bare status line.
 */
function answerMalformedRequestsInShape(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const statusCode = tooLarge ? 431 : 400;
    const requestId = randomUUID();
    const body = JSON.stringify({
      statusCode,
      error: tooLarge ? 'Request Header Fields Too Large' : 'Bad Request',
      message: tooLarge ? 'The request line or headers are too large' : 'Malformed HTTP request',
      requestId,
    });
    socket.end(
      `HTTP/1.1 ${statusCode} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
