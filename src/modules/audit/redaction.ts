export const REDACTED = '[REDACTED]';
export const MAX_STRING_LENGTH = 2000;
const MAX_DEPTH = 8;
const MAX_KEYS = 200;

const squash = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Redacts values under secret-looking keys (at any depth), truncates long strings with a marker,
 * and bounds depth and size, so that nothing secret or huge is ever stored in the trail.
 */
export class Redactor {
  private readonly needles: string[];

  constructor(keys: readonly string[]) {
    this.needles = [...new Set(keys.map(squash).filter(Boolean))];
  }

  isSecretKey(key: string): boolean {
    const k = squash(key);
    return this.needles.some((n) => k.includes(n));
  }

  redact(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return truncate(value);
    if (value === null || typeof value !== 'object')
      return typeof value === 'bigint' ? value.toString() : value;
    if (value instanceof Date) return value.toISOString();
    if (depth >= MAX_DEPTH) return '[TRUNCATED: too deep]';
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_KEYS).map((v) => this.redact(v, depth + 1));
      if (value.length > MAX_KEYS) items.push(`[TRUNCATED: ${value.length - MAX_KEYS} more items]`);
      return items;
    }
    const out: Record<string, unknown> = {};
    const entries = Object.entries(value as Record<string, unknown>);
    for (const [key, v] of entries.slice(0, MAX_KEYS)) {
      out[key] = this.isSecretKey(key) ? REDACTED : this.redact(v, depth + 1);
    }
    if (entries.length > MAX_KEYS) out['…'] = `[TRUNCATED: ${entries.length - MAX_KEYS} more keys]`;
    return out;
  }

  redactRecord(value: Record<string, unknown>): Record<string, unknown> {
    return this.redact(value) as Record<string, unknown>;
  }
}

export function truncate(value: string, max = MAX_STRING_LENGTH): string {
  if (value.length <= max) return value;
  return `${value.slice(0, max)}…[truncated ${value.length - max} chars]`;
}
