import { Transform, type TransformCallback } from 'node:stream';
import { OUTCOME_DISPLAY } from './dto/audit-log.dto';
import { SEALED_SQL } from './audit-query.builder';

/*
 * The JSON exports (NDJSON, JSON) from `COPY (SELECT …) TO STDOUT (FORMAT binary)`: PostgreSQL sends
 * each row's columns length-prefixed in their binary form (no text formatting, no escaping), and
 * ItemLines writes each row as the API's item (toItem: same keys, same order, same values) straight
 * into byte buffers. Measured on the 2 M bench database (1,000,000 rows, docs/performance.md "JSON
 * exports from binary COPY"): PostgreSQL building the JSON text cost ~8 s of CPU per 1,000,000 rows
 * serially (to_json() per text column, to_char, concatenation), and its parallel plan sorted the
 * formatted rows through temporary files before the first byte; the binary COPY costs about what a
 * raw CSV COPY of the table does and streams in index order, and this writer ~2.5 s.
 */

/**
 * The columns of a binary export row, in the order ItemLines reads them. The casts pin the binary
 * forms ItemLines reads (no-ops for today's column types: PostgreSQL drops them when parsing), so a
 * migration that changed a type could not be misread; ItemLines also checks the fixed sizes per row.
 */
export const BINARY_ITEM_COLUMNS = [
  'a.id::uuid',
  'a.seq::int8',
  'a.occurred_at::timestamptz',
  'a.action',
  'a.category',
  'a.outcome',
  'a.severity',
  'a.actor_type',
  'a.actor_id',
  'a.actor_display',
  'a.resource_type',
  'a.resource_id',
  'a.resource_display',
  'a.request_id',
  'a.http_method',
  'a.http_path',
  'a.status_code::int4',
  'a.duration_ms::int4',
  // host() of an inet: digits, hex letters, `.` and `:` only.
  'host(a.ip_address)',
  'a.user_agent',
  'a.changes::jsonb',
  'a.metadata::jsonb',
  'a.description',
  'a.error_type',
  'a.error_message',
  'a.error_stack',
  SEALED_SQL,
] as const;

const FIELDS = BINARY_ITEM_COLUMNS.length;
const enum F {
  Id,
  Seq,
  OccurredAt,
  Action,
  Category,
  Outcome,
  Severity,
  ActorType,
  ActorId,
  ActorDisplay,
  ResourceType,
  ResourceId,
  ResourceDisplay,
  RequestId,
  Method,
  Path,
  StatusCode,
  DurationMs,
  Ip,
  UserAgent,
  Changes,
  Metadata,
  Description,
  ErrorType,
  ErrorMessage,
  ErrorStack,
  Sealed,
}

/** `PGCOPY\n\377\r\n\0`, then a 32-bit flags field and a 32-bit header extension length. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_MIN = SIGNATURE.length + 8;
/** jsonb's binary form: a version byte, then the jsonb text. */
const JSONB_VERSION = 1;
/** PostgreSQL timestamps: microseconds since 2000-01-01 00:00 UTC = 10,957 days after the Unix epoch. */
const PG_EPOCH_DAYS = 10_957;
const US_PER_DAY = 86_400_000_000;
const TWO_32 = 4_294_967_296;

const lit = (s: string): Buffer => Buffer.from(s, 'utf8');
const K = {
  id: lit('{"id":"'),
  seq: lit('","seq":'),
  occurredAt: lit(',"occurredAt":'),
  action: lit(',"action":'),
  category: lit(',"category":'),
  outcome: lit(',"outcome":'),
  severity: lit(',"severity":'),
  actorType: lit(',"actor":{"type":'),
  id2: lit(',"id":'),
  display: lit(',"display":'),
  resourceType: lit('},"resource":{"type":'),
  requestId: lit('},"request":{"id":'),
  method: lit(',"method":'),
  path: lit(',"path":'),
  statusCode: lit(',"statusCode":'),
  durationMs: lit(',"durationMs":'),
  ip: lit(',"ip":'),
  userAgent: lit(',"userAgent":'),
  changes: lit('},"changes":'),
  metadata: lit(',"metadata":'),
  description: lit(',"description":'),
  error: lit(',"error":'),
  errorType: lit('{"type":'),
  message: lit(',"message":'),
  stack: lit(',"stack":'),
  sealedTrue: lit(',"sealed":true}\n'),
  sealedFalse: lit(',"sealed":false}\n'),
  null: lit('null'),
};
/** The `display` object per outcome, as toItem builds it (an unknown outcome: its own label, grey). */
const DISPLAY = new Map<string, Buffer>(
  Object.entries(OUTCOME_DISPLAY).map(([outcome, d]) => [outcome, lit(JSON.stringify(d))]),
);
/**
 * What a row's output can add to its binary bytes besides the quotes around text: the fixed pieces
 * (~420 bytes with the error object and the longest display), the uuid/int8/timestamp/int4 text beyond
 * their binary sizes (~70): 1 kB leaves room to spare (a unit test checks the worst row against it),
 * and row() refuses to go on past its buffer rather than drop a byte.
 */
export const ROW_EXTRA = 1024;
const HEX = lit('0123456789abcdef');
const ARRAY_OPEN = lit('[\n');
const ARRAY_NEXT = lit(',');
const QUOTE = 0x22;

/** A failure of the stream's shape (never expected from PostgreSQL): ends the export with an error. */
export class BinaryCopyError extends Error {}

/**
 * Output bytes, written in place into a buffer of `size` bytes (or more for one very large row) and
 * pushed whole. The caller reserves a row's worst case without escapes first (room()); a field that
 * needs escapes widens the reservation (widen()).
 */
class Out {
  buf: Buffer;
  pos = 0;
  /** The end of the current reservation. */
  private end = 0;

  constructor(
    private readonly size: number,
    private readonly push: (chunk: Buffer) => void,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Reserves `n` bytes from here (flushing first if they do not fit). */
  room(n: number): void {
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    this.end = this.pos + n;
  }

  /**
   * `n` bytes more than reserved, in the middle of a row (a field that needed escapes): the row's
   * reservation moves; a larger buffer, keeping what is written, only if it no longer fits.
   */
  widen(n: number): void {
    this.end += n;
    if (this.end <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.end, this.size));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  flush(): void {
    if (this.pos === 0) return;
    this.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
  }

  /** Copies src[from, to); a byte loop beats Buffer#copy's call for the short pieces of a row. */
  bytes(src: Buffer, from: number, to: number): void {
    const o = this.buf;
    let p = this.pos;
    if (to - from > 64) p += src.copy(o, p, from, to);
    else for (let i = from; i < to; i++) o[p++] = src[i];
    this.pos = p;
  }

  lit(b: Buffer): void {
    this.bytes(b, 0, b.length);
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** A non-negative safe integer in decimal. */
  int(v: number): void {
    const o = this.buf;
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    let t = v;
    do {
      o[--p] = 48 + (t % 10);
      t = Math.floor(t / 10);
    } while (t > 0);
  }

  /** `value` written as it is (ASCII). */
  ascii(value: string): void {
    this.pos += this.buf.write(value, this.pos, 'latin1');
  }

  /**
   * UTF-8 text as a JSON string. Copied as it is unless a byte needs an escape (`"`, `\`, a control
   * character); then JSON.stringify, which escapes exactly as PostgreSQL's to_json does.
   */
  str(src: Buffer, from: number, to: number): void {
    const o = this.buf;
    const start = this.pos;
    let p = start;
    o[p++] = QUOTE;
    for (let i = from; i < to; i++) {
      const c = src[i];
      if (c < 0x20 || c === QUOTE || c === 0x5c) {
        const json = JSON.stringify(src.toString('utf8', from, to));
        const bytes = Buffer.byteLength(json);
        // The reservation counted this field as its bytes + 2 quotes.
        this.widen(Math.max(0, bytes - (to - from + 2)));
        this.pos = start + this.buf.write(json, start, 'utf8');
        return;
      }
      o[p++] = c;
    }
    o[p++] = QUOTE;
    this.pos = p;
  }
}

const two = (o: Buffer, p: number, v: number): void => {
  o[p] = 48 + Math.floor(v / 10);
  o[p + 1] = 48 + (v % 10);
};

/**
 * Writes ItemLines' rows: the `[`/`,`/`]` of a JSON array, or one item per line (NDJSON). Reads each
 * binary row in place (field offsets into the chunk) and writes the item's bytes.
 */
export class ItemLines extends Transform {
  private readonly out: Out;
  private pending: Buffer | undefined;
  private headerRead = false;
  private ended = false;
  private rows = 0;
  private readonly at = new Int32Array(FIELDS);
  private readonly len = new Int32Array(FIELDS);

  constructor(private readonly array: boolean) {
    super();
    this.out = new Out(64 * 1024, (chunk) => this.push(chunk));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.consume(chunk);
      this.out.flush();
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.ended || this.pending) return done(new BinaryCopyError('binary COPY ended early'));
    if (this.array) {
      this.out.room(3);
      this.out.ascii(this.rows === 0 ? '[]\n' : ']\n');
    }
    this.out.flush();
    done();
  }

  private consume(chunk: Buffer): void {
    const src = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let off = 0;
    if (!this.headerRead) {
      if (src.length < HEADER_MIN) return void (this.pending = src);
      if (!src.subarray(0, SIGNATURE.length).equals(SIGNATURE))
        throw new BinaryCopyError('not a binary COPY');
      off = HEADER_MIN + src.readUInt32BE(HEADER_MIN - 4);
      if (src.length < off) return void (this.pending = src);
      this.headerRead = true;
    }
    const n = src.length;
    while (off + 2 <= n) {
      if (this.ended) throw new BinaryCopyError('data after the binary COPY trailer');
      const fields = src.readInt16BE(off);
      if (fields === -1) {
        this.ended = true;
        off += 2;
        continue;
      }
      if (fields !== FIELDS) throw new BinaryCopyError(`expected ${FIELDS} columns, got ${fields}`);
      const end = this.locate(src, off + 2, n);
      if (end < 0) break;
      this.row(src, end - off);
      off = end;
    }
    if (off < n) this.pending = src.subarray(off);
  }

  /** Records each field's offset and length (-1: NULL); returns the row's end, or -1 if incomplete. */
  private locate(src: Buffer, p: number, n: number): number {
    const { at, len } = this;
    for (let f = 0; f < FIELDS; f++) {
      if (p + 4 > n) return -1;
      const l = src.readInt32BE(p);
      p += 4;
      at[f] = p;
      len[f] = l;
      if (l > 0) p += l;
    }
    return p > n ? -1 : p;
  }

  private row(src: Buffer, size: number): void {
    const { out, at, len } = this;
    if (
      len[F.Id] !== 16 ||
      len[F.Seq] !== 8 ||
      len[F.OccurredAt] !== 8 ||
      len[F.Sealed] !== 1 ||
      (len[F.StatusCode] !== 4 && len[F.StatusCode] !== -1) ||
      (len[F.DurationMs] !== 4 && len[F.DurationMs] !== -1) ||
      len[F.Outcome] < 0
    )
      throw new BinaryCopyError('a column is not of the binary size ItemLines reads');
    // Worst case without escapes: the row's binary bytes + 2 quotes per field + ROW_EXTRA (a NULL's
    // 4-byte length becomes `null`); an unknown outcome is written twice. A field with escapes widens
    // the reservation (Out.str).
    out.room(size + ROW_EXTRA + 2 * FIELDS + len[F.Outcome]);
    // JSON: `[\n` before the first item, `,` before every other.
    if (this.array) out.lit(this.rows === 0 ? ARRAY_OPEN : ARRAY_NEXT);
    this.rows++;
    out.lit(K.id);
    this.uuid(src, at[F.Id]);
    out.lit(K.seq);
    this.int8(src, at[F.Seq]);
    out.lit(K.occurredAt);
    this.timestamp(src, at[F.OccurredAt]);
    out.lit(K.action);
    this.text(src, F.Action);
    out.lit(K.category);
    this.text(src, F.Category);
    out.lit(K.outcome);
    this.text(src, F.Outcome);
    out.lit(K.severity);
    this.text(src, F.Severity);
    out.lit(K.actorType);
    this.text(src, F.ActorType);
    out.lit(K.id2);
    this.text(src, F.ActorId);
    out.lit(K.display);
    this.text(src, F.ActorDisplay);
    out.lit(K.resourceType);
    this.text(src, F.ResourceType);
    out.lit(K.id2);
    this.text(src, F.ResourceId);
    out.lit(K.display);
    this.text(src, F.ResourceDisplay);
    out.lit(K.requestId);
    this.text(src, F.RequestId);
    out.lit(K.method);
    this.text(src, F.Method);
    out.lit(K.path);
    this.text(src, F.Path);
    out.lit(K.statusCode);
    this.int4(src, F.StatusCode);
    out.lit(K.durationMs);
    this.int4(src, F.DurationMs);
    out.lit(K.ip);
    this.text(src, F.Ip);
    out.lit(K.userAgent);
    this.text(src, F.UserAgent);
    out.lit(K.changes);
    this.jsonb(src, F.Changes);
    out.lit(K.metadata);
    this.jsonb(src, F.Metadata);
    out.lit(K.description);
    this.text(src, F.Description);
    out.lit(K.error);
    if (len[F.ErrorType] < 0 && len[F.ErrorMessage] < 0) out.lit(K.null);
    else {
      out.lit(K.errorType);
      this.text(src, F.ErrorType);
      out.lit(K.message);
      this.text(src, F.ErrorMessage);
      out.lit(K.stack);
      this.text(src, F.ErrorStack);
      out.byte(0x7d);
    }
    out.lit(K.display);
    const outcome = src.toString('latin1', at[F.Outcome], at[F.Outcome] + len[F.Outcome]);
    const display = DISPLAY.get(outcome);
    if (display) out.lit(display);
    else {
      out.ascii('{"label":');
      this.text(src, F.Outcome);
      out.ascii(',"color":"grey"}');
    }
    out.lit(src[at[F.Sealed]] ? K.sealedTrue : K.sealedFalse);
    // Writes past a Buffer's end are dropped silently: never let that pass.
    if (out.pos > out.buf.length) throw new BinaryCopyError('a row outgrew its reservation');
  }

  private text(src: Buffer, f: F): void {
    const n = this.len[f];
    if (n < 0) this.out.lit(K.null);
    else this.out.str(src, this.at[f], this.at[f] + n);
  }

  private int4(src: Buffer, f: F): void {
    if (this.len[f] < 0) return this.out.lit(K.null);
    const v = src.readInt32BE(this.at[f]);
    if (v < 0) this.out.byte(0x2d);
    this.out.int(Math.abs(v));
  }

  private jsonb(src: Buffer, f: F): void {
    const n = this.len[f];
    if (n < 0) return this.out.lit(K.null);
    const p = this.at[f];
    if (src[p] !== JSONB_VERSION) throw new BinaryCopyError(`jsonb version ${src[p]}`);
    this.out.bytes(src, p + 1, p + n);
  }

  private uuid(src: Buffer, p: number): void {
    const out = this.out;
    const o = out.buf;
    let q = out.pos;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) o[q++] = 0x2d;
      const b = src[p + i];
      o[q++] = HEX[b >> 4];
      o[q++] = HEX[b & 15];
    }
    out.pos = q;
  }

  private int8(src: Buffer, p: number): void {
    const hi = src.readInt32BE(p);
    // Beyond 2^53 (or negative): BigInt's decimal, exactly like int8 text.
    if (hi < 0 || hi >= 0x200000) return this.out.ascii(src.readBigInt64BE(p).toString());
    this.out.int(hi * TWO_32 + src.readUInt32BE(p + 4));
  }

  /**
   * The timestamp as the API's `occurredAt`: to_char(… AT TIME ZONE 'UTC',
   * 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') in quotes, which writes the year with at least four digits (a BC
   * year as its number, 44 BC → 0044), or `null` for ±infinity (to_char's NULL).
   */
  private timestamp(src: Buffer, p: number): void {
    const out = this.out;
    const hi = src.readInt32BE(p);
    const lo = src.readUInt32BE(p + 4);
    if ((hi === 0x7fffffff && lo === 0xffffffff) || (hi === -0x80000000 && lo === 0)) return out.lit(K.null);
    let days: number;
    let rem: number;
    const us = hi * TWO_32 + lo;
    if (Number.isSafeInteger(us)) {
      // 1715–2284: exact in a double.
      days = Math.floor(us / US_PER_DAY);
      rem = us - days * US_PER_DAY;
    } else {
      const big = src.readBigInt64BE(p);
      const perDay = BigInt(US_PER_DAY);
      let d = big / perDay;
      if (big < 0n && d * perDay !== big) d -= 1n;
      days = Number(d);
      rem = Number(big - d * perDay);
    }
    days += PG_EPOCH_DAYS;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian, year 0 = 1 BC).
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor(
      (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
    );
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const astronomical = yoe + era * 400 + (month <= 2 ? 1 : 0);
    const year = astronomical > 0 ? astronomical : 1 - astronomical;
    const hour = Math.floor(rem / 3_600_000_000);
    rem -= hour * 3_600_000_000;
    const minute = Math.floor(rem / 60_000_000);
    rem -= minute * 60_000_000;
    const second = Math.floor(rem / 1_000_000);
    let micro = rem - second * 1_000_000;
    out.byte(QUOTE);
    if (year >= 10_000) out.int(year);
    else {
      two(out.buf, out.pos, Math.floor(year / 100));
      two(out.buf, out.pos + 2, year % 100);
      out.pos += 4;
    }
    const o = out.buf;
    const q = out.pos;
    o[q] = 0x2d;
    two(o, q + 1, month);
    o[q + 3] = 0x2d;
    two(o, q + 4, day);
    o[q + 6] = 0x54;
    two(o, q + 7, hour);
    o[q + 9] = 0x3a;
    two(o, q + 10, minute);
    o[q + 12] = 0x3a;
    two(o, q + 13, second);
    o[q + 15] = 0x2e;
    for (let i = 21; i >= 16; i--) {
      o[q + i] = 48 + (micro % 10);
      micro = Math.floor(micro / 10);
    }
    o[q + 22] = 0x5a;
    o[q + 23] = QUOTE;
    out.pos = q + 24;
  }
}
