import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ClsService } from 'nestjs-cls';
import type { RequestContextStore } from '../../common/context/request-context';
import { IS_PUBLIC_KEY } from '../../common/decorators/public.decorator';
import { UnauthenticatedError } from '../../common/errors/domain-error';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { AuthService } from './auth.service';

/**
 * Global authentication guard: fails closed unless the route is @Public(). A bearer token acts as its
 * user; an `X-Api-Key` header acts as that key (actor type api_key, exactly its scopes).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly apiKeys: ApiKeysService,
    private readonly cls: ClsService<RequestContextStore>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const apiKey = req.headers['x-api-key'];
    if (apiKey !== undefined) {
      this.cls.set('credentialPresented', true);
      if (header || typeof apiKey !== 'string')
        throw new UnauthenticatedError('Send one credential: either Authorization or X-Api-Key', true);
      const key = await this.apiKeys.authenticate(apiKey);
      this.cls.set('actor', { type: 'api_key', id: key.id, name: key.name, scopes: [...key.scopes] });
      return true;
    }
    if (!header) throw new UnauthenticatedError();
    this.cls.set('credentialPresented', true);
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthenticatedError('Authorization header must be "Bearer <token>"', true);
    const { sessionId, user } = await this.auth.authenticate(match[1]);
    this.cls.set('actor', {
      type: 'user',
      id: user.id,
      name: user.displayName,
      email: user.email,

      role: user.role,
      sessionId,
    });
    return true;
  }
}
