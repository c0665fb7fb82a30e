import { BadRequestException, Param, ParseUUIDPipe } from '@nestjs/common';

/** A path parameter that must be a UUID; otherwise 400 naming the parameter. */
export const UuidParam = (name: string): ParameterDecorator =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () => new BadRequestException([`${name} must be a UUID`]),
    }),
  );
