export interface SchemaObject {
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, SchemaObject>;
  required?: string[];
  items?: SchemaObject;
  $ref?: string;
  allOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  nullable?: boolean;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

export interface Operation {
  method: string;
  path: string;
  operationId?: string;
  parameters: { name: string; in: string; required?: boolean; schema?: SchemaObject }[];
  bodySchema?: SchemaObject;
  multipart: boolean;
  security: string[];
}

export interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        parameters?: Operation['parameters'];
        requestBody?: { content: Record<string, { schema: SchemaObject }> };
        security?: Record<string, string[]>[];
      }
    >
  >;
  components: { schemas: Record<string, SchemaObject> };
}

export function resolve(doc: OpenApiDoc, schema: SchemaObject | undefined): SchemaObject | undefined {
  if (!schema) return undefined;
  if (schema.$ref) return resolve(doc, doc.components.schemas[schema.$ref.split('/').pop() ?? '']);
  if (schema.allOf?.length) {
    const parts = schema.allOf.map((s) => resolve(doc, s) ?? {});
    return {
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})) as Record<string, SchemaObject>,
      required: parts.flatMap((p) => p.required ?? []),
    };
  }
  return schema;
}

/** Every operation of the document, with its body schema resolved. */
export function operations(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const content = op.requestBody?.content ?? {};
      const json = content['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        parameters: op.parameters ?? [],
        bodySchema: resolve(doc, json),
        multipart: Boolean(content['multipart/form-data']),
        security: (op.security ?? []).flatMap((s) => Object.keys(s)),
      });
    }
  }
  return ops;
}

export const routeKey = (op: Pick<Operation, 'method' | 'path'>): string => `${op.method} ${op.path}`;
