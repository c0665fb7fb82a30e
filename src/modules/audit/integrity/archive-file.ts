import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { CANONICAL_FIELDS, CanonicalRow, checkpointSignatureValid, eventHash } from './canonical';

/** What is written beside every archive as `<partition>.manifest.json` and stored in audit_archives. */
export interface ArchiveManifest {
  format: 'audit-archive/v1';
  partition: string;
  rangeFrom: string;
  rangeTo: string;
  /** File name of the gzip NDJSON archive, in the same directory as the manifest. */
  file: string;
  fileSha256: string;
  rowCount: number;
  first: { pos: string; seq: string; hash: string; prevHash: string } | null;
  last: { pos: string; seq: string; hash: string } | null;
  /** chain position → hash (hex) of each archived event whose chain successor is not in this archive. */
  exits: Record<string, string>;
  /** The signed checkpoint covering the archived events (its position ≥ last.pos). */
  checkpoint: {
    id: string;
    lastPos: string;
    lastSeq: string;
    lastHash: string;
    eventCount: string;
    createdAt: string;
    previousId: string | null;
    previousSignature: string | null;
    signature: string;
  } | null;
  createdAt: string;
}

/** One NDJSON line: every canonical field as PostgreSQL text, plus prev_hash and hash in hex. */
export type ArchiveLine = CanonicalRow & { prev_hash: string; hash: string };

export const manifestPathOf = (path: string): string =>
  path.endsWith('.manifest.json') ? path : path.replace(/\.ndjson\.gz$/, '') + '.manifest.json';

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface ArchiveCheckResult {
  valid: boolean;
  checked: number;
  firstBrokenSeq: string | null;
  reason: string | null;
}

/**
 * Checks an archive offline: the file's SHA-256 against the manifest, every event's hash, the links
 * between consecutive chain positions, the manifest's first/last/exits/count, and (with the signing
 * key) the covering checkpoint's signature and hash.
 */
export async function checkArchive(path: string, signingKey?: string): Promise<ArchiveCheckResult> {
  const manifestPath = manifestPathOf(path);
  const fail = (reason: string, seq: string | null = null, checked = 0): ArchiveCheckResult => ({
    valid: false,
    checked,
    firstBrokenSeq: seq,
    reason,
  });
  if (!existsSync(manifestPath)) return fail(`manifest not found: ${manifestPath}`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ArchiveManifest;
  const dataPath = manifestPath.replace(/[^/\\]+$/, manifest.file);
  if (!existsSync(dataPath)) return fail(`archive file not found: ${dataPath}`);
  if ((await fileSha256(dataPath)) !== manifest.fileSha256)
    return fail('the archive file SHA-256 differs from the manifest (file altered or replaced)');

  let checked = 0;
  let prev: { pos: bigint; hash: Buffer; seq: string } | null = null;
  let first: ArchiveLine | null = null;
  const hashes = new Map<string, string>();
  const lines = createInterface({
    input: createReadStream(dataPath).pipe(createGunzip()),
    crlfDelay: Infinity,
  });
  for await (const text of lines) {
    if (!text) continue;
    const line = JSON.parse(text) as ArchiveLine;
    const pos = BigInt(line.chain_pos ?? '0');
    const prevHash = Buffer.from(line.prev_hash, 'hex');
    const hash = Buffer.from(line.hash, 'hex');
    if (!first) {
      first = line;
      if (manifest.first && line.prev_hash !== manifest.first.prevHash)
        return fail('the first event does not link to the manifest', line.seq, checked);
    } else if (prev && prev.pos === pos - 1n && !prevHash.equals(prev.hash)) {
      return fail(`prev_hash at chain position ${pos} does not match the previous event`, line.seq, checked);
    } else if (prev && pos <= prev.pos) {
      return fail(`chain position ${pos} out of order`, line.seq, checked);
    }
    const row = Object.fromEntries(CANONICAL_FIELDS.map((f) => [f, line[f] ?? null])) as CanonicalRow;
    if (!eventHash(prevHash, row).equals(hash))
      return fail(`hash mismatch at chain position ${pos}: the event was altered`, line.seq, checked);
    if (manifest.exits[pos.toString()] !== undefined) hashes.set(pos.toString(), line.hash);
    if (manifest.checkpoint && manifest.checkpoint.lastPos === pos.toString())
      hashes.set('checkpoint', line.hash);
    prev = { pos, hash, seq: line.seq ?? '' };
    checked++;
  }
  if (checked !== manifest.rowCount)
    return fail(`the manifest says ${manifest.rowCount} events, the file has ${checked}`);
  if (
    manifest.last &&
    (!prev || prev.pos.toString() !== manifest.last.pos || prev.hash.toString('hex') !== manifest.last.hash)
  )
    return fail('the last event does not match the manifest', prev?.seq ?? null, checked);
  for (const [pos, hex] of Object.entries(manifest.exits))
    if (hashes.get(pos) !== hex)
      return fail(`exit hash at chain position ${pos} does not match the manifest`, null, checked);
  const cp = manifest.checkpoint;
  if (cp) {
    if (manifest.last && BigInt(cp.lastPos) < BigInt(manifest.last.pos))
      return fail('the checkpoint does not cover the archived events', null, checked);
    if (hashes.has('checkpoint') && hashes.get('checkpoint') !== cp.lastHash)
      return fail('the checkpoint signed a different hash than the archived event', cp.lastSeq, checked);
    if (
      signingKey &&
      !checkpointSignatureValid(
        signingKey,
        {
          id: cp.id,
          lastPos: cp.lastPos,
          lastSeq: cp.lastSeq,
          lastHash: Buffer.from(cp.lastHash, 'hex'),
          eventCount: cp.eventCount,
          createdAt: cp.createdAt,
          previousId: cp.previousId,
          previousSignature: cp.previousSignature ? Buffer.from(cp.previousSignature, 'hex') : null,
        },
        Buffer.from(cp.signature, 'hex'),
      )
    )
      return fail('the covering checkpoint has an invalid signature', cp.lastSeq, checked);
  }
  return { valid: true, checked, firstBrokenSeq: null, reason: null };
}
