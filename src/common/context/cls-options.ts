import type { Request, Response } from 'express';
import { ClsMiddlewareOptions, ClsService } from 'nestjs-cls';
import { ANONYMOUS_ACTOR, RequestContextStore } from './request-context';
import { normaliseIp, resolveRequestId } from './request-id';

/**
 * The async-local request context, opened for every request before anything else runs
 * (mounted with app.use in configureApp, so it also covers routes outside the /api/v1 prefix).
 */
export const clsMiddlewareOptions: ClsMiddlewareOptions = {
  generateId: true,
  // No proxy providers here: resolving them (the default) cost every request a dynamic require() and
  // an extra await for nothing.
  resolveProxyProviders: false,
  idGenerator: (req: Request) => resolveRequestId(req.headers['x-request-id']),
  setup: (store: ClsService, req: Request, res: Response) => {
    const cls = store as ClsService<RequestContextStore>;
    res.setHeader('X-Request-Id', cls.getId());
    cls.set('startedAt', Date.now());
    cls.set('ip', normaliseIp(req.ip));
    cls.set('userAgent', (req.headers['user-agent'] ?? '').slice(0, 512) || null);
    cls.set('method', req.method);
    cls.set('path', (req.originalUrl ?? req.url).split('?')[0]);
    cls.set('actor', ANONYMOUS_ACTOR);
    cls.set('credentialPresented', false);
  },
};
