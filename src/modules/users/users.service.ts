import { Injectable } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import type { Actor } from '../../common/context/request-context';
import { ConflictError, NotFoundError, ValidationFailedError } from '../../common/errors/domain-error';
import { errorCode } from '../../common/errors/error-code';
import type { Page } from '../../common/dto/pagination.dto';
import type { Tx } from '../../database/transaction';
import { AuditService } from '../audit/audit.service';
import { createdChanges, deletedChanges, diffChanges } from '../audit/changes';
import { CreateUserDto, UpdateUserDto } from './dto/user.dto';
import { PasswordHasher } from './password-hasher';
import { SessionsService } from './sessions.service';
import { UserEntity } from './user.entity';

const UNIQUE_VIOLATION = '23505';

/** The user fields the audit trail records (never the password hash). */
export const AUDITED_USER_FIELDS = ['email', 'displayName', 'role', 'isActive'] as const;

function isUniqueViolation(e: unknown): boolean {
  return errorCode(e) === UNIQUE_VIOLATION;
}

@Injectable()
export class UsersService {
  constructor(
    @InjectTransactionHost() private readonly txHost: Tx,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
  ) {}

  private get repo() {
    return this.txHost.tx.getRepository(UserEntity);
  }

  async create(dto: CreateUserDto): Promise<UserEntity> {
    const email = dto.email.toLowerCase();
    if (await this.repo.existsBy({ email }))
      throw new ConflictError(`A user with email ${email} already exists`);
    const user = this.repo.create({
      email,
      displayName: dto.displayName,
      role: dto.role,
      passwordHash: await this.hasher.hash(dto.password),
      isActive: true,
    });
    try {
      const saved = await this.repo.save(user);
      this.audit.setResource('user', saved.id, saved.displayName);
      this.audit.setChanges(createdChanges(saved, AUDITED_USER_FIELDS));
      return saved;
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError(`A user with email ${email} already exists`);
      throw e;
    }
  }

  async list(limit: number, offset: number): Promise<Page<UserEntity>> {
    const [items, total] = await this.repo.findAndCount({
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
    return { items, total, limit, offset };
  }

  async get(id: string): Promise<UserEntity> {
    const user = await this.repo.findOneBy({ id });
    if (!user) throw new NotFoundError('User', id);
    return user;
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.repo.findOneBy({ email: email.trim().toLowerCase() });
  }

  /** Applies a partial update. Returns the user before and after (identical when nothing changed). */
  async update(
    id: string,
    dto: UpdateUserDto,
    actor: Actor,
  ): Promise<{ before: UserEntity; after: UserEntity }> {
    const user = await this.get(id);
    const before = { ...user };
    this.audit.setResource('user', user.id, user.displayName);
    if (actor.id === id && (dto.role === 'user' || dto.isActive === false)) {
      throw new ConflictError('You cannot demote or deactivate your own account');
    }
    if (dto.displayName !== undefined) user.displayName = dto.displayName;
    if (dto.role !== undefined) user.role = dto.role;
    if (dto.isActive !== undefined) user.isActive = dto.isActive;
    const changes = diffChanges(before, user, AUDITED_USER_FIELDS);
    if (Object.keys(changes).length === 0) {
      this.audit.skip();
      return { before, after: user };
    }
    const after = await this.repo.save(user);
    let revoked = 0;
    if (before.isActive && !after.isActive) revoked = await this.sessions.revokeAllForUser(id);
    this.audit.setChanges(changes);
    if (changes.isActive) this.audit.setAction(after.isActive ? 'user.activated' : 'user.deactivated');
    else if (changes.role) this.audit.setAction('user.role_changed');
    if (revoked > 0) this.audit.addMetadata({ revokedSessions: revoked });
    return { before, after };
  }

  async remove(id: string, actor: Actor): Promise<UserEntity> {
    const user = await this.get(id);
    this.audit.setResource('user', user.id, user.displayName);
    if (actor.id === id) throw new ConflictError('You cannot delete your own account');
    await this.repo.delete({ id });
    this.audit.setChanges(deletedChanges(user, AUDITED_USER_FIELDS));
    return user;
  }

  /** Changes the caller's password and revokes their other sessions. */
  async changePassword(
    userId: string,
    currentPassword: string,
    newPassword: string,
    keepSessionId?: string,
  ): Promise<UserEntity> {
    const user = await this.get(userId);
    this.audit.setResource('user', user.id, user.displayName);
    if (!(await this.hasher.verify(currentPassword, user.passwordHash))) {
      throw new ValidationFailedError('currentPassword is incorrect');
    }
    if (currentPassword === newPassword)
      throw new ValidationFailedError('newPassword must differ from currentPassword');
    user.passwordHash = await this.hasher.hash(newPassword);
    await this.repo.save(user);
    const revoked = await this.sessions.revokeAllForUser(userId, keepSessionId);
    // The trail says that the password changed, nothing more.
    this.audit.addMetadata({ revokedSessions: revoked });
    return user;
  }

  /** Creates the bootstrap admin when no admin exists. Returns true when one was created. */
  async ensureAdmin(email: string, password: string): Promise<boolean> {
    if (await this.repo.existsBy({ role: 'admin' })) return false;
    await this.repo.save(
      this.repo.create({
        email: email.toLowerCase(),
        displayName: 'Administrator',
        role: 'admin',
        passwordHash: await this.hasher.hash(password),
        isActive: true,
      }),
    );
    return true;
  }
}
