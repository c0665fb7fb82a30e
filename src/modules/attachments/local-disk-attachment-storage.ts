import { randomUUID, createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AttachmentStorage, TempUpload } from './attachment-storage';

const KEY_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertKey(key: string): void {
  // Keys are ids we generate; anything else (a path) is a bug, never a file name to trust.
  if (!KEY_PATTERN.test(key)) throw new Error(`Invalid storage key: ${JSON.stringify(key)}`);
}

/**
 * Files under a directory: `<dir>/<attachment id>` for stored objects, `<dir>/tmp/<uuid>` for uploads
 * in flight. The directory is created when missing. Rename within one file system is atomic.
 */
export class LocalDiskAttachmentStorage implements AttachmentStorage {
  readonly root: string;
  readonly tmpDir: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.tmpDir = join(this.root, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  private path(key: string): string {
    assertKey(key);
    return join(this.root, key);
  }

  private tempPath(tempKey: string): string {
    assertKey(tempKey);
    return join(this.tmpDir, tempKey);
  }

  async writeTemp(
    source: Readable,
    headBytes: number,
    onStart?: (tempKey: string) => void,
  ): Promise<TempUpload> {
    const tempKey = randomUUID();
    onStart?.(tempKey);
    const path = this.tempPath(tempKey);
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        if (head.length < headBytes) head = Buffer.concat([head, chunk.subarray(0, headBytes - head.length)]);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
    return { tempKey, size, sha256: hash.digest('hex'), head };
  }

  async discardTemp(tempKey: string): Promise<void> {
    await rm(this.tempPath(tempKey), { force: true });
  }

  async promote(tempKey: string, key: string): Promise<void> {
    await rename(this.tempPath(tempKey), this.path(key));
  }

  async open(key: string): Promise<Readable | null> {
    try {
      const handle = await open(this.path(key), 'r');
      return handle.createReadStream();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async listKeys(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true });
    return entries.filter((e) => e.isFile() && KEY_PATTERN.test(e.name)).map((e) => e.name);
  }

  async listStaleTemp(before: Date): Promise<string[]> {
    const names = (await readdir(this.tmpDir)).filter((n) => KEY_PATTERN.test(n));
    const stale: string[] = [];
    for (const name of names) {
      const info = await stat(join(this.tmpDir, name)).catch(() => null);
      if (info && info.mtime < before) stale.push(name);
    }
    return stale;
  }
}
