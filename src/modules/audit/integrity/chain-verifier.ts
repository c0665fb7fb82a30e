import {
  canonicalSelect,
  ChainRow,
  checkpointSignatureValid,
  eventHash,
  GENESIS_HASH,
  tsText,
} from './canonical';

/** Runs one SQL statement (the app's transaction, or a plain pg client in the CLI). */
export type QueryFn = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

export interface VerifyOptions {
  /** First seq to check (the chain is walked from that event's chain position). */
  fromSeq?: string;
  /** Last seq to check. Without it the newest checkpoint must be found (cut-off detection). */
  toSeq?: string;
  batchSize?: number;
}

export interface VerifyResult {
  valid: boolean;
  /** Events whose link and hash were checked. */
  checked: number;
  /** The seq of the first event found broken (for a rewritten chain: the first checkpoint that disagrees). */
  firstBrokenSeq: string | null;
  reason: string | null;
  /** Events not chained yet (the sealer chains them within AUDIT_SEAL_INTERVAL_MS). */
  unsealed: number;
  checkpointsChecked: number;
  archives: number;
}

interface Checkpoint {
  id: string;
  last_pos: string;
  last_seq: string;
  last_hash: Buffer;
  event_count: string;
  created_at: string;
  previous_id: string | null;
  signature: Buffer;
}

interface Archive {
  first_pos: string | null;
  last_pos: string | null;
  exits: Record<string, string>;
}

class Broken extends Error {
  constructor(
    readonly seq: string | null,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Verifies the hash chain: checkpoint signatures and their chain, then every event in chain order
 * (streamed in keyset batches): its prev_hash links to the previous event's hash (or to an archived
 * event's, after retention), its hash recomputes, and it matches any checkpoint at its position.
 * Finally the newest checkpoint's event must exist (or be archived): cut-off newest events are found.
 */
export async function verifyChain(
  query: QueryFn,
  signingKey: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const batch = options.batchSize ?? 5000;
  const result: VerifyResult = {
    valid: true,
    checked: 0,
    firstBrokenSeq: null,
    reason: null,
    unsealed: 0,
    checkpointsChecked: 0,
    archives: 0,
  };
  try {
    const checkpoints = await query<Checkpoint>(
      `SELECT id, last_pos::text AS last_pos, last_seq::text AS last_seq, last_hash, event_count::text AS event_count,
              ${tsText('created_at')} AS created_at, previous_id, signature
         FROM audit_checkpoints c ORDER BY c.last_pos`,
    );
    const archives = await query<Archive>(
      `SELECT first_pos::text AS first_pos, last_pos::text AS last_pos, exits FROM audit_archives a ORDER BY a.last_pos`,
    );
    result.archives = archives.length;
    const exits = new Map<bigint, Buffer>();
    for (const a of archives)
      for (const [pos, hex] of Object.entries(a.exits)) exits.set(BigInt(pos), Buffer.from(hex, 'hex'));
    const archived = (pos: bigint): boolean =>
      archives.some(
        (a) =>
          a.first_pos !== null &&
          a.last_pos !== null &&
          pos >= BigInt(a.first_pos) &&
          pos <= BigInt(a.last_pos),
      );

    checkCheckpoints(checkpoints, signingKey);
    result.checkpointsChecked = checkpoints.length;
    const byPos = new Map(checkpoints.map((c) => [BigInt(c.last_pos), c]));

    let fromPos = 1n;
    let toPos: bigint | null = null;
    if (options.fromSeq !== undefined) {
      const [r] = await query<{ pos: string }>(
        `SELECT chain_pos::text AS pos FROM audit_logs WHERE seq >= $1 AND chain_pos IS NOT NULL ORDER BY audit_logs.seq LIMIT 1`,
        [options.fromSeq],
      );
      fromPos = r ? BigInt(r.pos) : -1n;
    }
    if (options.toSeq !== undefined) {
      const [r] = await query<{ pos: string }>(
        `SELECT chain_pos::text AS pos FROM audit_logs WHERE seq <= $1 AND chain_pos IS NOT NULL ORDER BY audit_logs.seq DESC LIMIT 1`,
        [options.toSeq],
      );
      toPos = r ? BigInt(r.pos) : 0n;
    }

    let prev: { pos: bigint; hash: Buffer } | null = null;
    if (fromPos > 1n) {
      const [anchor] = await query<{ hash: Buffer }>(`SELECT hash FROM audit_logs WHERE chain_pos = $1`, [
        (fromPos - 1n).toString(),
      ]);
      if (anchor) prev = { pos: fromPos - 1n, hash: anchor.hash };
    }
    const seen = new Set<bigint>(); // checkpoint positions found
    let cursor = fromPos - 1n;
    let lastSeen = 0n;
    while (fromPos > 0n) {
      const rows = await query<ChainRow>(
        `SELECT ${canonicalSelect()} FROM audit_logs
          WHERE chain_pos > $1 ${toPos !== null ? 'AND chain_pos <= $3' : ''}
          ORDER BY audit_logs.chain_pos LIMIT $2`,
        toPos !== null ? [cursor.toString(), batch, toPos.toString()] : [cursor.toString(), batch],
      );
      for (const row of rows) {
        const pos = BigInt(row.chain_pos ?? '0');
        const stored = row.hash as Buffer;
        let expected: Buffer | undefined;
        if (prev && prev.pos === pos - 1n) expected = prev.hash;
        else if (exits.has(pos - 1n)) expected = exits.get(pos - 1n);
        else if (pos === 1n) expected = GENESIS_HASH;
        if (!expected)
          throw new Broken(row.seq, `the event before chain position ${pos} is missing (deleted events)`);
        if (!(row.prev_hash as Buffer).equals(expected))
          throw new Broken(
            row.seq,
            `prev_hash at chain position ${pos} does not match the previous event (events deleted, inserted or reordered)`,
          );
        if (!eventHash(row.prev_hash as Buffer, row).equals(stored))
          throw new Broken(row.seq, `hash mismatch at chain position ${pos}: the event was altered`);
        const cp = byPos.get(pos);
        if (cp && (!cp.last_hash.equals(stored) || cp.last_seq !== row.seq))
          throw new Broken(
            row.seq,
            `checkpoint ${cp.id} signed a different event at chain position ${pos}: the chain was rewritten before this point`,
          );
        if (cp) seen.add(pos);
        prev = { pos, hash: stored };
        lastSeen = pos;
        result.checked++;
      }
      if (rows.length < batch) break;
      cursor = lastSeen;
    }

    for (const cp of checkpoints) {
      const pos = BigInt(cp.last_pos);
      if (pos < fromPos || (toPos !== null && pos > toPos)) continue;
      if (!seen.has(pos) && !archived(pos))
        throw new Broken(
          cp.last_seq,
          `checkpoint ${cp.id} names the event at chain position ${pos} (seq ${cp.last_seq}), which is missing: newest events were cut off`,
        );
    }
    const [{ n }] = await query<{ n: string }>(
      `SELECT count(*)::text AS n FROM audit_logs WHERE chain_pos IS NULL`,
    );
    result.unsealed = Number(n);
  } catch (e) {
    if (!(e instanceof Broken)) throw e;
    result.valid = false;
    result.firstBrokenSeq = e.seq;
    result.reason = e.message;
  }
  return result;
}

/** Signatures, the previous-checkpoint links and the counts between checkpoints. */
function checkCheckpoints(checkpoints: Checkpoint[], key: string): void {
  let previous: Checkpoint | undefined;
  for (const cp of checkpoints) {
    const valid = checkpointSignatureValid(
      key,
      {
        id: cp.id,
        lastPos: cp.last_pos,
        lastSeq: cp.last_seq,
        lastHash: cp.last_hash,
        eventCount: cp.event_count,
        createdAt: cp.created_at,
        previousId: cp.previous_id,
        previousSignature: previous?.signature ?? null,
      },
      cp.signature,
    );
    if (!valid)
      throw new Broken(cp.last_seq, `checkpoint ${cp.id} has an invalid signature (forged or altered)`);
    if ((cp.previous_id ?? null) !== (previous?.id ?? null))
      throw new Broken(
        cp.last_seq,
        `checkpoint ${cp.id} does not follow the previous checkpoint (checkpoints removed)`,
      );
    if (BigInt(cp.last_pos) - BigInt(previous?.last_pos ?? '0') !== BigInt(cp.event_count))
      throw new Broken(
        cp.last_seq,
        `checkpoint ${cp.id} counts a different number of events than its position says`,
      );
    previous = cp;
  }
}
