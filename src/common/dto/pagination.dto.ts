import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class PaginationQueryDto {
  @ApiPropertyOptional({
    description: 'Page size (1–100)',
    minimum: 1,
    maximum: 100,
    default: 20,
    example: 20,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit = 20;

  @ApiPropertyOptional({
    description: 'Rows to skip (0–1,000,000)',
    minimum: 0,
    maximum: 1_000_000,
    default: 0,
    example: 0,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  offset = 0;
}

export class PageMetaDto {
  @ApiProperty({ description: 'Rows matching the filters', example: 42 })
  total!: number;

  @ApiProperty({ description: 'Page size used', example: 20 })
  limit!: number;

  @ApiProperty({ description: 'Rows skipped', example: 0 })
  offset!: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
