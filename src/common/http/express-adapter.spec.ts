import type { Express, Request, Response } from 'express';
import { IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AppExpressAdapter } from './express-adapter';

interface Seen {
  sameRequestProto: boolean;
  sameResponseProto: boolean;
  header: string | undefined;
}

function get(server: Server, path: string): Promise<{ status: number; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path, headers: { 'X-Probe': 'yes' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('AppExpressAdapter', () => {
  it("creates requests and responses with Express's prototypes, so Express has nothing to change", async () => {
    const adapter = new AppExpressAdapter();
    adapter.initHttpServer({});
    const app = adapter.getInstance<Express>();
    const server = adapter.getHttpServer() as Server;
    // As Node hands them to Express, before Express's Object.setPrototypeOf(req, app.request).
    let before: { request: boolean; response: boolean } | undefined;
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      before = {
        request: Object.getPrototypeOf(req) === app.request,
        response: Object.getPrototypeOf(res) === app.response,
      };
    });
    app.get('/probe', (req: Request, res: Response) => {
      const seen: Seen = {
        sameRequestProto: Object.getPrototypeOf(req) === app.request,
        sameResponseProto: Object.getPrototypeOf(res) === app.response,
        header: req.get('X-Probe'),
      };
      res.status(201).json(seen);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await get(server, '/probe');
      expect(before).toEqual({ request: true, response: true });
      expect(res.status).toBe(201);
      expect(JSON.parse(res.body)).toEqual({
        sameRequestProto: true,
        sameResponseProto: true,
        header: 'yes',
      });
      // Still Express's request and response (methods, `app`) on top of Node's.
      expect(app.request).toBeInstanceOf(IncomingMessage);
      expect(app.response).toBeInstanceOf(ServerResponse);
      expect(app.request.app).toBe(app);
      expect(typeof app.response.json).toBe('function');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("leaves an HTTPS server to Nest's own adapter", () => {
    const adapter = new AppExpressAdapter();
    adapter.initHttpServer({ httpsOptions: {} });
    expect(adapter.getHttpServer()).toBeInstanceOf(HttpsServer);
  });
});
