import {
  BadRequestException,
  Injectable,
  NestMiddleware,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { json, NextFunction, Request, RequestHandler, Response } from 'express';
import { AppConfig } from '../../config/app-config';

/** Turns body-parser's errors into HTTP exceptions with a message fit for a client. */
export function bodyParserErrorToHttp(err: unknown): unknown {
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
  switch (type) {
    case 'entity.parse.failed':
      return new BadRequestException('Malformed JSON body');
    case 'entity.too.large':
      return new PayloadTooLargeException('Request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeException('Unsupported body encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new BadRequestException('The request body could not be read');
    default:
      return err;
  }
}

/**
 * JSON body parsing as Nest middleware, so that malformed JSON (400) and oversized bodies (413)
 * reach the global exception filter and get the standard error shape.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parser: RequestHandler;

  constructor(config: AppConfig) {
    this.parser = json({ limit: config.jsonBodyLimit, strict: true });
  }

  use(req: Request, res: Response, next: NextFunction): void {
    this.parser(req, res, (err?: unknown) => (err ? next(bodyParserErrorToHttp(err)) : next()));
  }
}
