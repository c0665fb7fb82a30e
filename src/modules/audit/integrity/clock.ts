import { Injectable } from '@nestjs/common';

/** The integrity jobs' notion of "now". Tests pass an explicit `now` to the services instead of mocking time. */
@Injectable()
export class AuditClock {
  now(): Date {
    return new Date();
  }
}
