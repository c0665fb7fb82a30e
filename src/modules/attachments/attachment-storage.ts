import type { Readable } from 'node:stream';

/** Injection token of the {@link AttachmentStorage} in use. */
export const ATTACHMENT_STORAGE = Symbol('AttachmentStorage');

/** An upload written to a temporary object, not yet visible under its final key. */
export interface TempUpload {
  tempKey: string;
  /** Bytes written. */
  size: number;
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
  /** The first bytes (up to `headBytes`), for content sniffing. */
  head: Buffer;
}

/**
 * Where attachment bytes live. Keys are attachment ids. Uploads are first written to a temporary
 * object, then moved under their key once the row has committed (`promote`), so a rolled-back upload
 * never leaves a file behind a missing row, and a committed row never points at a half-written file.
 */
export interface AttachmentStorage {
  /**
   * Streams `source` to a new temporary object, hashing and counting the bytes on the way.
   * `onStart` learns the temporary key before the first byte is written.
   */
  writeTemp(source: Readable, headBytes: number, onStart?: (tempKey: string) => void): Promise<TempUpload>;
  /** Removes a temporary object (no error when it is already gone). */
  discardTemp(tempKey: string): Promise<void>;
  /** Moves a temporary object under its final key. */
  promote(tempKey: string, key: string): Promise<void>;
  /** Opens a stored object for reading; null when there is none. */
  open(key: string): Promise<Readable | null>;
  /** Removes a stored object (no error when it is already gone). */
  remove(key: string): Promise<void>;
  /** Every stored key. */
  listKeys(): Promise<string[]>;
  /** Temporary objects last written before `before`. */
  listStaleTemp(before: Date): Promise<string[]>;
}
