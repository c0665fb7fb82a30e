import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';

/**
 * The Express adapter of the app (main.ts and the tests): its HTTP server creates every request and
 * response with Express's prototypes already in place.
 *
 * Why: Express turns Node's request and response into its own with `Object.setPrototypeOf(req,
 * app.request)` (and `res`) on every request. Changing an object's prototype gives it a new hidden
 * class in V8, and measured under the bench's read load (docs/performance.md, "Young garbage") each
 * request's objects then outlived it in the young generation and were promoted at the next minor GC
 * (4 KB per request for a bare Express app, against 0.4 KB without the prototype change; ~10 KB per
 * request in this app). Here the server builds them from subclasses of IncomingMessage and
 * ServerResponse whose prototypes are app.request and app.response, so Express's call changes nothing.
 *
 * With httpsOptions, return503OnClosing or forceCloseConnections (none of which the app sets) Nest's
 * own server is used unchanged.
 */
export class AppExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    if (options.httpsOptions || options.return503OnClosing || options.forceCloseConnections) {
      super.initHttpServer(options);
      return;
    }
    const app = this.getInstance<Express>();
    this.setHttpServer(createServer(serverClasses(app), app));
  }
}

/**
 * Request and response classes standing in for Express's `app.request` and `app.response`, which
 * become the classes' prototypes (so what Express sets per request is what Node created).
 */
function serverClasses(app: Express): {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
} {
  class ExpressRequest extends IncomingMessage {}
  class ExpressResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {}
  adoptPrototype(ExpressRequest, app.request);
  adoptPrototype(ExpressResponse, app.response);
  app.request = ExpressRequest.prototype as Express['request'];
  app.response = ExpressResponse.prototype as Express['response'];
  return { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse };
}

/**
 * Makes `cls.prototype` stand in for `proto`: the same parent (Express's request or response, itself
 * inheriting from Node's) and the same own properties (`app`); the constructor stays the class's.
 */
function adoptPrototype(cls: { prototype: object }, proto: object): void {
  Object.setPrototypeOf(cls.prototype, Object.getPrototypeOf(proto) as object | null);
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    if (descriptor) Object.defineProperty(cls.prototype, key, descriptor);
  }
}
