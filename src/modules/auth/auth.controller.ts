import { Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ClsService } from 'nestjs-cls';
import type { Actor, RequestContextStore } from '../../common/context/request-context';
import { ApiErrors } from '../../common/decorators/api-errors.decorator';
import { Authenticated } from '../../common/decorators/authenticated.decorator';
import { CurrentActor } from '../../common/decorators/current-actor.decorator';
import { Public } from '../../common/decorators/public.decorator';
import { UserResponseDto } from '../users/dto/user.dto';
import { UsersService } from '../users/users.service';
import { Audited } from '../audit/audited.decorator';
import { AuthService } from './auth.service';
import { LoginDto, TokenResponseDto } from './dto/auth.dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly cls: ClsService<RequestContextStore>,
  ) {}

  @Post('login')
  @Audited({ action: 'auth.login', failureAction: 'auth.login_failed', resourceType: 'user' })
  @Public()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Log in with email and password',
    description:
      'Returns a bearer token. Wrong password, unknown email and inactive user all answer 401 with the same message.',
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiErrors(400, 401, 429)
  async login(@Body() dto: LoginDto): Promise<TokenResponseDto> {
    const { accessToken, tokenType, expiresIn } = await this.auth.login(
      dto.email,
      dto.password,
      this.cls.get('ip'),
    );
    return { accessToken, tokenType, expiresIn };
  }

  @Post('logout')
  @Audited({ action: 'auth.logout', resourceType: 'user' })
  @Authenticated()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Log out: the token used for this call is refused afterwards' })
  @ApiNoContentResponse({ description: 'Logged out' })
  async logout(@CurrentActor() actor: Actor): Promise<void> {
    await this.auth.logout(actor);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'The caller’s own profile' })
  @ApiOkResponse({ type: UserResponseDto })
  async me(@CurrentActor() actor: Actor): Promise<UserResponseDto> {
    return UserResponseDto.fromEntity(await this.users.get(actor.id ?? ''));
  }
}
