import type TestAgent from 'supertest/lib/agent';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './test-app';

let counter = 0;
const unique = (): string => `${Date.now().toString(36)}${(counter++).toString(36)}`;

export interface TestUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
  token: string;
}

export async function login(http: TestAgent, email: string, password: string): Promise<string> {
  const res = await http.post('/api/v1/auth/login').send({ email, password }).expect(200);
  return (res.body as { accessToken: string }).accessToken;
}

export function loginAdmin(http: TestAgent): Promise<string> {
  return login(http, ADMIN_EMAIL, ADMIN_PASSWORD);
}

/** Creates a user through the API (as the admin) and logs them in. */
export async function createUser(
  http: TestAgent,
  adminToken: string,
  overrides: Partial<{ email: string; password: string; displayName: string; role: 'admin' | 'user' }> = {},
): Promise<TestUser> {
  const id = unique();
  const body = {
    email: overrides.email ?? `user-${id}@test.example`,
    password: overrides.password ?? `password-${id}`,
    displayName: overrides.displayName ?? `User ${id}`,
    role: overrides.role ?? 'user',
  };
  const res = await http
    .post('/api/v1/users')
    .set('Authorization', `Bearer ${adminToken}`)
    .send(body)
    .expect(201);
  const token = await login(http, body.email, body.password);
  return {
    id: (res.body as { id: string }).id,
    email: body.email,
    password: body.password,
    displayName: body.displayName,
    token,
  };
}

export const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];
