import { ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsString, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { PageMetaDto } from '../../../common/dto/pagination.dto';
import { USER_ROLES, UserEntity, UserRole } from '../user.entity';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);
const lowerTrim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class CreateUserDto {
  @ApiProperty({
    description: 'Login email; unique regardless of letter case',
    example: 'ann.lee@example.com',
    maxLength: 254,
  })
  @Transform(lowerTrim)
  @IsEmail()
  @MaxLength(254)
  email!: string;

  @ApiProperty({
    description: 'Initial password (10–200 characters)',
    example: 'a-long-passphrase',
    minLength: 10,
    maxLength: 200,
    format: 'password',
  })
  @IsString()
  @MinLength(10)
  @MaxLength(200)
  password!: string;

  @ApiProperty({
    description: 'Name shown in the UI and the audit trail',
    example: 'Ann Lee',
    minLength: 1,
    maxLength: 100,
  })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  displayName!: string;

  @ApiProperty({ description: 'Role', enum: USER_ROLES, example: 'user' })
  @IsIn(USER_ROLES)
  role!: UserRole;
}

// skipNullProperties: false — null is a bad value here (400), not "absent".
export class UpdateUserDto extends PartialType(PickType(CreateUserDto, ['displayName', 'role'] as const), {
  skipNullProperties: false,
}) {
  @ApiPropertyOptional({
    description: 'false deactivates the user: they cannot log in and their tokens stop working',
    example: false,
  })
  @ValidateIf((_, value) => value !== undefined)
  @IsBoolean()
  isActive?: boolean;
}

export class ChangePasswordDto {
  @ApiProperty({
    description: 'The current password',
    example: 'old-passphrase-1',
    format: 'password',
    maxLength: 200,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  currentPassword!: string;

  @ApiProperty({
    description: 'The new password (10–200 characters)',
    example: 'new-passphrase-2',
    minLength: 10,
    maxLength: 200,
    format: 'password',
  })
  @IsString()
  @MinLength(10)
  @MaxLength(200)
  newPassword!: string;
}

export class UserResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f0e6a8e-1b7c-4c1e-9d38-0f5f1b2f8a11' })
  id!: string;

  @ApiProperty({ example: 'ann.lee@example.com' })
  email!: string;

  @ApiProperty({ example: 'Ann Lee' })
  displayName!: string;

  @ApiProperty({ enum: USER_ROLES, example: 'user' })
  role!: UserRole;

  @ApiProperty({ example: true })
  isActive!: boolean;

  @ApiProperty({ type: String, format: 'date-time', example: '2026-11-21T10:00:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ type: String, format: 'date-time', example: '2026-11-21T10:00:00.000Z' })
  updatedAt!: Date;

  /** Whitelists the fields a client may see: never the password hash. */
  static fromEntity(u: UserEntity): UserResponseDto {
    return Object.assign(new UserResponseDto(), {
      id: u.id,
      email: u.email,
      displayName: u.displayName,
      role: u.role,
      isActive: u.isActive,
      createdAt: u.createdAt,
      updatedAt: u.updatedAt,
    });
  }
}

export class UserPageDto extends PageMetaDto {
  @ApiProperty({ type: [UserResponseDto] })
  items!: UserResponseDto[];
}
