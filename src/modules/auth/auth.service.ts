import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { UnauthenticatedError } from '../../common/errors/domain-error';
import type { Actor } from '../../common/context/request-context';
import { AuditService } from '../audit/audit.service';
import { PasswordHasher } from '../users/password-hasher';
import { ActiveSession, SessionsService } from '../users/sessions.service';
import { UserEntity } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { LoginThrottle } from './login-throttle.service';

export const INVALID_CREDENTIALS = 'Invalid email or password';

interface AccessTokenPayload {
  sub: string;
  role: string;
  jti: string;
}

export interface IssuedToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: UserEntity;
  sessionId: string;
}

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly throttle: LoginThrottle,
  ) {}

  /** Wrong password, unknown email and inactive user fail alike (same message, same work). */
  async login(email: string, password: string, ip: string | null = null): Promise<IssuedToken> {
    const normalised = email.trim().toLowerCase().slice(0, 254);
    // The attempted email, never the password.
    this.audit.addMetadata({ email: normalised });
    await this.throttle.check(normalised, ip);
    const user = await this.users.findByEmail(email);
    if (!user) {
      await this.hasher.dummyVerify(password);
      throw new UnauthenticatedError(INVALID_CREDENTIALS);
    }
    const ok = await this.hasher.verify(password, user.passwordHash);
    if (!ok || !user.isActive) {
      this.audit.setResource('user', user.id, user.displayName);
      throw new UnauthenticatedError(INVALID_CREDENTIALS);
    }
    const sessionId = randomUUID();
    this.audit.setActor({
      type: 'user',
      id: user.id,
      name: user.displayName,
      email: user.email,
      role: user.role,
      sessionId,
    });
    this.audit.setResource('user', user.id, user.displayName);
    const expiresIn = this.config.jwtTtlSeconds;
    await this.sessions.create(sessionId, user.id, new Date(Date.now() + expiresIn * 1000));
    const payload: AccessTokenPayload = { sub: user.id, role: user.role, jti: sessionId };
    const accessToken = await this.jwt.signAsync(payload, { expiresIn });
    return { accessToken, tokenType: 'Bearer', expiresIn, user, sessionId };
  }

  async logout(actor: Actor): Promise<void> {
    if (!actor.sessionId) return;
    this.audit.setResource('user', actor.id, actor.name);
    await this.sessions.revoke(actor.sessionId);
  }

  /**
   * Verifies a bearer token (HS256 only, signature, expiry) and that its session is live and its
   * user active. The role comes from the database, not from the token.
   */
  async authenticate(token: string): Promise<ActiveSession> {
    let payload: AccessTokenPayload;
    try {
      payload = await this.jwt.verifyAsync<AccessTokenPayload>(token, { algorithms: ['HS256'] });
    } catch {
      throw new UnauthenticatedError('Invalid or expired token', true);
    }
    if (typeof payload.jti !== 'string' || typeof payload.sub !== 'string') {
      throw new UnauthenticatedError('Invalid or expired token', true);
    }
    const active = await this.sessions.findActive(payload.jti);
    if (!active || active.user.id !== payload.sub)
      throw new UnauthenticatedError('Token has been revoked', true);
    return active;
  }
}
