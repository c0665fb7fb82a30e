import { timeOrderedId } from '../utils/time-ordered-id';

const VALID_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Keeps a valid incoming X-Request-Id (printable ASCII, at most 128 chars), otherwise makes one. */
export function resolveRequestId(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value !== undefined && VALID_REQUEST_ID.test(value) ? value : timeOrderedId();
}

/** Normalises an IPv4-mapped IPv6 address (::ffff:1.2.3.4) to plain IPv4. */
export function normaliseIp(ip: string | undefined): string | null {
  if (!ip) return null;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
