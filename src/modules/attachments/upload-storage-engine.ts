import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import { UnsupportedMediaTypeError, ValidationFailedError } from '../../common/errors/domain-error';
import type { AttachmentStorage } from './attachment-storage';
import { normaliseContentType } from './filename';
import { MAGIC_BYTES_NEEDED, matchesDeclaredType } from './magic-bytes';

/** What the engine adds to multer's file object. `path` is the temporary storage key. */
export interface StoredUploadInfo {
  path: string;
  size: number;
  sha256: string;
}

/** The parsed upload as the controller sees it (`req.file`). */
export interface UploadedTempFile extends StoredUploadInfo {
  fieldname: string;
  originalname: string;
  mimetype: string;
}

/** A storage failure (disk full, permissions): a 500, unlike the client's mistakes. */
const TEMP_KEYS = Symbol('uploadTempKeys');

/** The temporary keys an upload request has started, kept on the request itself. */
function tempKeysOf(req: Request): string[] {
  const holder = req as Request & { [TEMP_KEYS]?: string[] };
  holder[TEMP_KEYS] ??= [];
  return holder[TEMP_KEYS];
}

export class UploadStorageFailure extends Error {
  constructor(cause: unknown) {
    super('Storing the upload failed', { cause });
  }
}

/**
 * multer storage engine: streams the file into a temporary object of the attachment storage while
 * hashing and counting, so nothing is buffered in memory. Rejects empty files (400) and PNG, JPEG,
 * GIF or PDF uploads whose first bytes are not that format (415). The size limit is multer's
 * (`limits.fileSize`): the stream is cut there and multer removes the temporary object.
 */
export class UploadStorageEngine implements StorageEngine {
  constructor(private readonly storage: AttachmentStorage) {}

  /** Removes every temporary file this request started (an upload refused before multer finished). */
  async discardAll(req: Request): Promise<void> {
    for (const key of tempKeysOf(req).splice(0)) await this.storage.discardTemp(key);
  }

  _handleFile(
    req: Request,
    file: Express.Multer.File,
    callback: (error?: Error | null, info?: Partial<Express.Multer.File>) => void,
  ): void {
    this.store(file, (tempKey) => tempKeysOf(req).push(tempKey)).then(
      (info) => callback(null, info),
      (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
    );
  }

  _removeFile(_req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    this.storage.discardTemp(file.path).then(
      () => callback(null),
      (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
    );
  }

  private async store(
    file: Express.Multer.File,
    onStart: (tempKey: string) => void,
  ): Promise<StoredUploadInfo> {
    let written;
    try {
      written = await this.storage.writeTemp(file.stream, MAGIC_BYTES_NEEDED, onStart);
    } catch (e) {
      // A file-system error is ours (500); anything else is a broken request (client gone, malformed
      // multipart body), which multer usually reports first anyway.
      if (typeof (e as NodeJS.ErrnoException).syscall === 'string') throw new UploadStorageFailure(e);
      throw e;
    }
    const info: StoredUploadInfo = { path: written.tempKey, size: written.size, sha256: written.sha256 };
    if (written.size === 0) {
      await this.storage.discardTemp(written.tempKey);
      throw new ValidationFailedError('file must not be empty');
    }
    const type = normaliseContentType(file.mimetype);
    if (!matchesDeclaredType(type, written.head)) {
      await this.storage.discardTemp(written.tempKey);
      throw new UnsupportedMediaTypeError(`The file content is not ${type}`);
    }
    return info;
  }
}
