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

/** Deepest nesting a JSON body may have: deeper bodies are refused before anything walks them. */
export const MAX_JSON_DEPTH = 32;

/** Nesting depth of a parsed JSON value, without recursion (a hostile body cannot blow the stack). */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>))
      stack.push([child, depth]);
  }
  return max;
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
    this.parser(req, res, (err?: unknown) => {
      if (err) return next(bodyParserErrorToHttp(err));
      if (jsonDepth(req.body) > MAX_JSON_DEPTH) {
        return next(new BadRequestException(`JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`));
      }
      next();
    });
  }
}
