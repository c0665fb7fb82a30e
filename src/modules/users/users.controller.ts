import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Actor } from '../../common/context/request-context';
import { ApiErrors } from '../../common/decorators/api-errors.decorator';
import { Authenticated } from '../../common/decorators/authenticated.decorator';
import { CurrentActor } from '../../common/decorators/current-actor.decorator';
import { UuidParam } from '../../common/decorators/uuid-param.decorator';
import { PaginationQueryDto } from '../../common/dto/pagination.dto';
import {
  ChangePasswordDto,
  CreateUserDto,
  UpdateUserDto,
  UserPageDto,
  UserResponseDto,
} from './dto/user.dto';
import { Audited } from '../audit/audited.decorator';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Patch('me/password')
  @Audited({ action: 'user.password_changed', resourceType: 'user' })
  @Authenticated()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Change your own password',
    description: 'The old password stops working and your other tokens are revoked.',
  })
  @ApiNoContentResponse({ description: 'Password changed' })
  @ApiErrors(400)
  async changePassword(@Body() dto: ChangePasswordDto, @CurrentActor() actor: Actor): Promise<void> {
    await this.users.changePassword(actor.id ?? '', dto.currentPassword, dto.newPassword, actor.sessionId);
  }

  @Post()
  @Audited({ action: 'user.created', resourceType: 'user' })
  @Authenticated({ roles: ['admin'] })
  @ApiOperation({ summary: 'Create a user (admin)' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiErrors(400, 409)
  async create(@Body() dto: CreateUserDto): Promise<UserResponseDto> {
    return UserResponseDto.fromEntity(await this.users.create(dto));
  }

  @Get()
  @Authenticated({ roles: ['admin'] })
  @ApiOperation({ summary: 'List users (admin), newest first' })
  @ApiOkResponse({ type: UserPageDto })
  @ApiErrors(400)
  async list(@Query() page: PaginationQueryDto): Promise<UserPageDto> {
    const result = await this.users.list(page.limit, page.offset);
    return { ...result, items: result.items.map((u) => UserResponseDto.fromEntity(u)) };
  }

  @Get(':id')
  @Authenticated({ roles: ['admin'] })
  @ApiOperation({ summary: 'Get a user (admin)' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiErrors(400, 404)
  async get(@UuidParam('id') id: string): Promise<UserResponseDto> {
    return UserResponseDto.fromEntity(await this.users.get(id));
  }

  @Patch(':id')
  @Audited({ action: 'user.updated', resourceType: 'user' })
  @Authenticated({ roles: ['admin'] })
  @ApiOperation({ summary: 'Update a user (admin): name, role, active flag' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiErrors(400, 404, 409)
  async update(
    @UuidParam('id') id: string,
    @Body() dto: UpdateUserDto,
    @CurrentActor() actor: Actor,
  ): Promise<UserResponseDto> {
    const { after } = await this.users.update(id, dto, actor);
    return UserResponseDto.fromEntity(after);
  }

  @Delete(':id')
  @Audited({ action: 'user.deleted', resourceType: 'user' })
  @Authenticated({ roles: ['admin'] })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Delete a user (admin)',
    description: 'The audit trail keeps every event of the user.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404, 409)
  async remove(@UuidParam('id') id: string, @CurrentActor() actor: Actor): Promise<void> {
    await this.users.remove(id, actor);
  }
}
