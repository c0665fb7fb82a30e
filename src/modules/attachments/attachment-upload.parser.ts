import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import multer, { MulterError } from 'multer';
import {
  DomainError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationFailedError,
} from '../../common/errors/domain-error';
import { AppConfig } from '../../config/app-config';
import type { BeforeTransactionStep, Discard } from '../../database/before-transaction';
import { ATTACHMENT_STORAGE, type AttachmentStorage } from './attachment-storage';
import { normaliseContentType } from './filename';
import { UploadedTempFile, UploadStorageEngine, UploadStorageFailure } from './upload-storage-engine';

/** The multipart field that carries the file. */
export const UPLOAD_FIELD = 'file';

type RequestWithFile = Request & { file?: UploadedTempFile };

/**
 * Parses a single-file multipart upload (field `file`) into a temporary object of the attachment
 * storage, streaming: never more than a chunk in memory. A `@BeforeTransaction` step: the body arrives
 * at the client's pace, so it is read before the request transaction opens (a slow or stalled upload
 * holds no connection, and on the embedded database blocks no other request); the temporary object is
 * discarded if the transaction then rolls back, or never begins.
 *
 * Errors: over ATTACHMENT_MAX_BYTES → 413; a type outside ATTACHMENT_ALLOWED_TYPES, or content not
 * matching the declared image/PDF type → 415; no file, an empty file, any other field or a malformed
 * body → 400.
 */
/** Room for the multipart boundaries and part headers around the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

@Injectable()
export class AttachmentUploadParser implements BeforeTransactionStep {
  private readonly maxBytes: number;
  private readonly engine: UploadStorageEngine;
  private readonly allowedTypes: Set<string>;
  private readonly middleware: (req: Request, res: Response, next: (err?: unknown) => void) => void;

  constructor(
    config: AppConfig,
    @Inject(ATTACHMENT_STORAGE) private readonly storage: AttachmentStorage,
  ) {
    this.maxBytes = config.attachmentMaxBytes;
    this.engine = new UploadStorageEngine(storage);
    this.allowedTypes = new Set(config.attachmentAllowedTypes);
    this.middleware = multer({
      storage: this.engine,
      limits: {
        fileSize: this.maxBytes,
        files: 1,
        fields: 10,
        fieldSize: 1024,
        fieldNameSize: 100,
        parts: 11,
        headerPairs: 50,
      },
      defParamCharset: 'utf8',
      fileFilter: (_req, file, cb) => {
        const type = normaliseContentType(file.mimetype);
        if (this.allowedTypes.has(type)) cb(null, true);
        else cb(new UnsupportedMediaTypeError(`Content type ${type || '(none)'} is not accepted`));
      },
    }).single(UPLOAD_FIELD);
  }

  async run(context: ExecutionContext): Promise<Discard> {
    const http = context.switchToHttp();
    const req = http.getRequest<RequestWithFile>();
    const res = http.getResponse<Response>();
    await this.parse(req, res);
    const tempKey = (req.file as UploadedTempFile).path;
    return () => this.storage.discardTemp(tempKey);
  }

  /** Leaves req.file set to the stored upload, or throws with nothing kept. */
  private async parse(req: RequestWithFile, res: Response): Promise<void> {
    // Cut an oversized upload off early: a declared or observed body far over the limit is answered
    // at once with Connection: close (multer alone would drain the whole body before answering).
    const ceiling = this.maxBytes + MULTIPART_OVERHEAD_BYTES;
    const tooLarge = () => {
      res.setHeader('Connection', 'close');
      // Multer is still writing the part it has: remove it once the answer is out.
      res.once('finish', () => void this.engine.discardAll(req));
      return new PayloadTooLargeError(`${UPLOAD_FIELD} must be at most ${this.maxBytes} bytes`);
    };
    if (Number(req.headers['content-length'] ?? 0) > ceiling) throw tooLarge();
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      const count = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > ceiling) {
          req.off('data', count);
          reject(tooLarge());
        }
      };
      req.on('data', count);
      this.middleware(req, res, (err?: unknown) => {
        req.off('data', count);
        if (err) reject(this.toDomainError(err));
        else resolve();
      });
    });
    const file = req.file;
    const unknown = Object.keys((req.body ?? {}) as Record<string, unknown>);
    if (unknown.length > 0) {
      if (file) await this.storage.discardTemp(file.path);
      throw new ValidationFailedError(unknown.map((k) => `property ${k} should not exist`).join('; '));
    }
    if (!file) throw new ValidationFailedError(`${UPLOAD_FIELD} is required (multipart/form-data)`);
  }

  private toDomainError(err: unknown): Error {
    if (err instanceof DomainError) return err;
    if (err instanceof UploadStorageFailure) return err.cause instanceof Error ? err.cause : err;
    if (err instanceof MulterError) {
      switch (err.code) {
        case 'LIMIT_FILE_SIZE':
          return new PayloadTooLargeError(`${UPLOAD_FIELD} must be at most ${this.maxBytes} bytes`);
        case 'LIMIT_UNEXPECTED_FILE':
          return new ValidationFailedError(
            err.field === UPLOAD_FIELD
              ? `only one ${UPLOAD_FIELD} may be uploaded`
              : `property ${err.field ?? '(unnamed)'} should not exist`,
          );
        case 'LIMIT_FILE_COUNT':
          return new ValidationFailedError(`only one ${UPLOAD_FIELD} may be uploaded`);
        case 'LIMIT_FIELD_COUNT':
        case 'LIMIT_FIELD_KEY':
        case 'LIMIT_FIELD_VALUE':
        case 'LIMIT_PART_COUNT':
        case 'MISSING_FIELD_NAME':
        default:
          return new ValidationFailedError(`Invalid multipart body: ${err.message}`);
      }
    }
    return new ValidationFailedError('Malformed multipart body');
  }
}
