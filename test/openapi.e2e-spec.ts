import { createTestApp, TestApp } from './support/test-app';

type Json = Record<string, unknown>;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * A focused structural validation of the OpenAPI 3 document (no validator package is installed):
 * the rules a standard validator checks that our generator could get wrong.
 */
function validateOpenApi(doc: Json): string[] {
  const problems: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.\d+\.\d+$/.test(doc.openapi))
    problems.push('openapi: not 3.x.y');
  const info = doc.info as Json | undefined;
  if (!info || typeof info.title !== 'string' || typeof info.version !== 'string')
    problems.push('info: title and version required');
  const components = (doc.components ?? {}) as Json;
  const schemes = (components.securitySchemes ?? {}) as Json;

  // Every $ref resolves.
  const resolve = (ref: string): unknown =>
    ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>(
        (node, part) => (node as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')],
        doc,
      );
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${path}[${i}]`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Json)) {
        if (k === '$ref') {
          if (typeof v !== 'string' || !v.startsWith('#/') || resolve(v) === undefined)
            problems.push(`${path}: unresolved $ref ${String(v)}`);
        } else walk(v, `${path}.${k}`);
      }
    }
  };
  walk(doc, '#');

  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Json)) {
    if (!path.startsWith('/')) problems.push(`${path}: path must start with /`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(item as Json)) {
      if (!HTTP_METHODS.includes(method)) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const o = op as Json;
      const responses = o.responses as Json | undefined;
      if (!responses || Object.keys(responses).length === 0) problems.push(`${where}: no responses`);
      for (const [code, r] of Object.entries(responses ?? {})) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) problems.push(`${where}: bad status ${code}`);
        if (typeof (r as Json).description !== 'string' && !(r as Json).$ref)
          problems.push(`${where} ${code}: response without description`);
      }
      if (typeof o.operationId !== 'string') problems.push(`${where}: no operationId`);
      else if (operationIds.has(o.operationId))
        problems.push(`${where}: duplicate operationId ${o.operationId}`);
      else operationIds.add(o.operationId);
      const params = ((o.parameters ?? []) as Json[]).map((p) =>
        p.$ref ? (resolve(p.$ref as string) as Json) : p,
      );
      const seen = new Set<string>();
      for (const p of params) {
        const key = `${String(p.in)}:${String(p.name)}`;
        if (seen.has(key)) problems.push(`${where}: parameter ${key} declared twice`);
        seen.add(key);
        if (!['query', 'header', 'path', 'cookie'].includes(p.in as string))
          problems.push(`${where}: bad in ${key}`);
        if (p.in === 'path' && p.required !== true)
          problems.push(`${where}: path parameter ${key} not required`);
        if (p.in === 'path' && !templated.includes(p.name as string))
          problems.push(`${where}: path parameter ${key} not in the path`);
        if (!p.schema && !p.content) problems.push(`${where}: parameter ${key} without schema`);
      }
      for (const name of templated)
        if (!params.some((p) => p.in === 'path' && p.name === name))
          problems.push(`${where}: path parameter {${name}} not declared`);
      for (const requirement of (o.security ?? []) as Json[])
        for (const scheme of Object.keys(requirement))
          if (!schemes[scheme]) problems.push(`${where}: unknown security scheme ${scheme}`);
    }
  }
  return problems;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: Json;
  beforeAll(async () => {
    t = await createTestApp();
    doc = (await t.http.get('/api/docs-json').expect(200)).body as Json;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('passes the structural OpenAPI 3 checks', () => {
    expect(validateOpenApi(doc)).toEqual([]);
  });

  it('the validator catches what it should', () => {
    const broken = JSON.parse(JSON.stringify(doc)) as Json;
    const paths = broken.paths as Record<string, Record<string, Json>>;
    paths['/api/v1/audit-logs/{id}'].get.responses = {};
    paths['/api/v1/audit-logs/{id}'].get.parameters = [];
    paths['/api/v1/audit-logs'].get.operationId = paths['/api/v1/audit-logs/stats'].get.operationId;
    paths['/api/v1/audit-logs'].get.security = [{ nope: [] }];
    paths['/api/v1/audit-logs/errors'].get.x = { $ref: '#/components/schemas/Missing' };
    expect(validateOpenApi(broken)).toEqual([
      expect.stringContaining('unresolved $ref #/components/schemas/Missing'),
      expect.stringContaining('unknown security scheme nope'),
      expect.stringContaining('duplicate operationId'),
      expect.stringContaining('GET /api/v1/audit-logs/{id}: no responses'),
      expect.stringContaining('path parameter {id} not declared'),
    ]);
  });

  it('documents every audit-log and api-key query parameter with a description and an example', () => {
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const ours = Object.entries(paths).filter(
      ([p]) => p.startsWith('/api/v1/audit-logs') || p.startsWith('/api/v1/api-keys'),
    );
    expect(ours.map(([p]) => p).sort()).toEqual(
      [
        '/api/v1/api-keys',
        '/api/v1/api-keys/{id}',
        '/api/v1/audit-logs',
        '/api/v1/audit-logs/errors',
        '/api/v1/audit-logs/export',
        '/api/v1/audit-logs/feed',
        '/api/v1/audit-logs/stats',
        '/api/v1/audit-logs/verify',
        '/api/v1/audit-logs/{id}',
      ].sort(),
    );
    const missing: string[] = [];
    for (const [path, item] of ours) {
      for (const [method, op] of Object.entries(item)) {
        for (const p of (op.parameters ?? []) as Json[]) {
          if (p.in !== 'query') continue;
          const schema = (p.schema ?? {}) as Json;
          if (!p.description) missing.push(`${method} ${path} ${String(p.name)}: description`);
          if (p.example === undefined && schema.example === undefined)
            missing.push(`${method} ${path} ${String(p.name)}: example`);
        }
        const responses = op.responses as Json;
        if (path.startsWith('/api/v1/audit-logs')) {
          for (const code of ['200', '400', '401', '403'])
            if (!responses[code]) missing.push(`${method} ${path} ${code}`);
          // verify is for admins only; every read route also takes an audit:read API key.
          const schemes = path.endsWith('/verify') ? [{ bearer: [] }] : [{ bearer: [] }, { 'api-key': [] }];
          expect(op.security).toEqual(expect.arrayContaining(schemes));
        }
      }
    }
    expect(missing).toEqual([]);
    const list = paths['/api/v1/audit-logs'].get.parameters as Json[];
    expect(list.map((p) => p.name).sort()).toEqual(
      [
        'from',
        'to',
        'actorId',
        'actorType',
        'action',
        'category',
        'resourceType',
        'resourceId',
        'outcome',
        'severity',
        'requestId',
        'ip',
        'q',
        'order',
        'limit',
        'cursor',
        'offset',
        'includeTotal',
      ].sort(),
    );
    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    for (const name of [
      'AuditLogItemDto',
      'AuditLogPageDto',
      'AuditStatsDto',
      'ApiKeyResponseDto',
      'CreatedApiKeyDto',
    ]) {
      const props = (schemas[name]?.properties ?? {}) as Record<string, Json>;
      expect(Object.keys(props).length).toBeGreaterThan(0);
      for (const [prop, s] of Object.entries(props)) {
        if (!s.description && !s.allOf && !s.$ref) missing.push(`${name}.${prop}: description`);
      }
    }
    expect(missing).toEqual([]);
  });
});
