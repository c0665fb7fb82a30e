import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectTransactionHost } from '@nestjs-cls/transactional';
import { AppConfig } from '../../config/app-config';
import type { Tx } from '../../database/transaction';
import { UsersService } from '../users/users.service';

/** Creates the first admin from ADMIN_EMAIL / ADMIN_PASSWORD when the database has none. */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);

  constructor(
    private readonly users: UsersService,
    private readonly config: AppConfig,
    @InjectTransactionHost() private readonly txHost: Tx,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const created = await this.txHost.withTransaction(() =>
      this.users.ensureAdmin(this.config.adminEmail, this.config.adminPassword),
    );
    if (created) this.logger.log(`Created the bootstrap admin ${this.config.adminEmail}`);
  }
}
