import { createParamDecorator } from '@nestjs/common';
import { ClsServiceManager } from 'nestjs-cls';
import { ANONYMOUS_ACTOR, Actor, RequestContextStore } from '../context/request-context';

/** The authenticated actor of the current request (from the async-local request context). */
export const CurrentActor = createParamDecorator((): Actor => {
  const cls = ClsServiceManager.getClsService<RequestContextStore>();
  return cls.get('actor') ?? ANONYMOUS_ACTOR;
});
