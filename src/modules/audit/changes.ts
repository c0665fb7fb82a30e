import type { AuditChanges } from './audit.types';

function normalise(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value === undefined) return null;
  return value;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The fields that really changed between two snapshots, as `{field: {from, to}}`. */
export function diffChanges<T extends object>(
  before: T,
  after: T,
  fields: readonly (keyof T & string)[],
): AuditChanges {
  const changes: AuditChanges = {};
  for (const field of fields) {
    const from = normalise(before[field]);
    const to = normalise(after[field]);
    if (!same(from, to)) changes[field] = { from, to };
  }
  return changes;
}

/** A creation: every listed field from null. */
export function createdChanges<T extends object>(
  after: T,
  fields: readonly (keyof T & string)[],
): AuditChanges {
  const changes: AuditChanges = {};
  for (const field of fields) changes[field] = { from: null, to: normalise(after[field]) };
  return changes;
}

/** A deletion: every listed field to null. */
export function deletedChanges<T extends object>(
  before: T,
  fields: readonly (keyof T & string)[],
): AuditChanges {
  const changes: AuditChanges = {};
  for (const field of fields) changes[field] = { from: normalise(before[field]), to: null };
  return changes;
}
