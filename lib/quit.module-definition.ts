import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { QuitModuleOptions } from './interfaces/quit-options.interface.js';

/**
 * Injection token of the options exactly as given to `forRoot` / made by `forRootAsync`;
 * the module reads them checked and completed, under `QUIT_MODULE_OPTIONS`.
 */
export const QUIT_RAW_OPTIONS = Symbol.for('nestjs-quit:raw_options');

/**
 * `forRoot` / `forRootAsync` as Nest's official modules make them: `forRootAsync` takes
 * `useFactory` + `inject`, `useClass` or `useExisting` (a class with `createQuitOptions()`),
 * and `imports`. `QuitModule` extends the class and checks the options on the way.
 */
export const { ConfigurableModuleClass: ConfigurableQuitModule } =
  new ConfigurableModuleBuilder<QuitModuleOptions>({ optionsInjectionToken: QUIT_RAW_OPTIONS })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createQuitOptions')
    .build();
