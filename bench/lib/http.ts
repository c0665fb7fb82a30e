import { BENCH_ADMIN_EMAIL, BENCH_ADMIN_PASSWORD } from './child-app';

export interface HttpResult {
  status: number;
  body: string;
}

export async function httpJson(
  baseUrl: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<HttpResult> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.text() };
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
