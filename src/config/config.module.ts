import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AppConfig } from './app-config';
import { loadEnvironment } from './env.validation';

@Global()
@Module({
  // `load` runs when the module is instantiated, so each app (and each test) validates the
  // environment it starts with.
  imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ ...loadEnvironment() })] })],
  providers: [AppConfig],
  exports: [AppConfig],
})
export class AppConfigModule {}
