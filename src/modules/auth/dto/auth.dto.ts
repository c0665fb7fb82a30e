import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ description: 'Login email (any letter case)', example: 'admin@example.com', maxLength: 254 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ description: 'Password', example: 'admin-password-123', format: 'password', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  password!: string;
}

export class TokenResponseDto {
  @ApiProperty({
    description: 'JWT access token (HS256); send as `Authorization: Bearer <token>`',
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…',
  })
  accessToken!: string;

  @ApiProperty({ description: 'Always Bearer', example: 'Bearer', enum: ['Bearer'] })
  tokenType!: 'Bearer';

  @ApiProperty({ description: 'Lifetime of the token in seconds', example: 3600 })
  expiresIn!: number;
}
