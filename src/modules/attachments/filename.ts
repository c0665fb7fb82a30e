const MAX_FILENAME_CHARS = 255;

/** Bidirectional overrides and marks: they let `evil\u202Etxt.exe` display as `evilexe.txt`. */
const BIDI_CONTROLS = new Set([
  0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
]);

function isUnsafeCodePoint(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || BIDI_CONTROLS.has(c);
}

/**
 * The stored name of an upload: the base name only (anything up to the last `/` or `\` dropped),
 * control characters removed, trimmed, at most 255 characters; `file` when nothing is left.
 */
export function sanitizeFilename(original: string | undefined | null): string {
  const base = (original ?? '').split(/[/\\]/).pop() ?? '';
  const chars = Array.from(base.normalize('NFC')).filter((ch) => !isUnsafeCodePoint(ch.codePointAt(0) ?? 0));
  let name = chars.join('').trim();
  if (name === '.' || name === '..') name = '';
  name = Array.from(name).slice(0, MAX_FILENAME_CHARS).join('').trim();
  return name || 'file';
}

/** RFC 5987 `value-chars`: percent-encode everything but unreserved characters and a few symbols. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * `Content-Disposition: attachment` for a (sanitised) filename, per RFC 6266: a quoted ASCII fallback
 * in `filename`, and the exact name in `filename*` when it is not plain ASCII.
 */
export function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  let header = `attachment; filename="${fallback}"`;
  if (fallback !== filename) header += `; filename*=UTF-8''${encodeRfc5987(filename)}`;
  return header;
}

/** `image/PNG; charset=x` → `image/png`; empty when there is no usable type. */
export function normaliseContentType(value: string | undefined | null): string {
  return (value ?? '').split(';')[0].trim().toLowerCase();
}
