/** Leading bytes ("magic numbers") of the binary types whose declared content type we verify. */
const SIGNATURES: Record<string, Buffer[]> = {
  'image/png': [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  'image/jpeg': [Buffer.from([0xff, 0xd8, 0xff])],
  'image/gif': [Buffer.from('GIF87a', 'latin1'), Buffer.from('GIF89a', 'latin1')],
  'application/pdf': [Buffer.from('%PDF-', 'latin1')],
};

/** How many leading bytes a check needs. */
export const MAGIC_BYTES_NEEDED = Math.max(
  ...Object.values(SIGNATURES)
    .flat()
    .map((s) => s.length),
);

/**
 * True when the content may be what its declared type says: for PNG, JPEG, GIF and PDF the first
 * bytes must match the format's signature; other types are not checked.
 */
export function matchesDeclaredType(contentType: string, head: Buffer): boolean {
  const signatures = SIGNATURES[contentType];
  if (!signatures) return true;
  return signatures.some((sig) => head.length >= sig.length && head.subarray(0, sig.length).equals(sig));
}
