import { Agent, request } from 'node:http';
import { BENCH_ADMIN_EMAIL, BENCH_ADMIN_PASSWORD } from './child-app';

export interface HttpResult {
  status: number;
  body: string;
}

/**
 * One keep-alive agent for every timed call: a plain `node:http` client costs the (shared, 2-core)
 * machine far less CPU per request than `fetch` (undici), so the figures are the server's, not the
 * client's (measured: about 1 ms less per call).
 */
const agent = new Agent({ keepAlive: true });

export function httpJson(
  baseUrl: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<HttpResult> {
  const payload = body !== undefined ? JSON.stringify(body) : undefined;
  return new Promise<HttpResult>((resolveP, reject) => {
    const req = request(
      `${baseUrl}${path}`,
      {
        method,
        agent,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolveP({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export async function loginAdmin(baseUrl: string): Promise<string> {
  const res = await httpJson(baseUrl, 'POST', '/api/v1/auth/login', undefined, {
    email: BENCH_ADMIN_EMAIL,
    password: BENCH_ADMIN_PASSWORD,
  });
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`admin login failed: ${res.status} ${res.body}`);
  const parsed = JSON.parse(res.body) as { accessToken?: string };
  if (!parsed.accessToken) throw new Error('admin login returned no accessToken');
  return parsed.accessToken;
}

/** True when the route exists (anything but 404/405 for a GET with the admin token). */
export async function routeExists(baseUrl: string, path: string, token: string): Promise<boolean> {
  const res = await httpJson(baseUrl, 'GET', path, token);
  return res.status !== 404 && res.status !== 405;
}
