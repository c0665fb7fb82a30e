/** Asserts the standard error body and that it matches the HTTP status and the X-Request-Id header. */
export function expectErrorShape(
  res: { status: number; body: unknown; headers: Record<string, string> },
  status: number,
): void {
  expect(res.status).toBe(status);
  const body = res.body as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'message', 'requestId', 'statusCode']);
  expect(body.statusCode).toBe(status);
  expect(typeof body.error).toBe('string');
  expect(typeof body.message === 'string' || Array.isArray(body.message)).toBe(true);
  expect(body.requestId).toBe(res.headers['x-request-id']);
  expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
}
