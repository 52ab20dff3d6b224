/**
 * The handshake between `nestjs-quit/testing` and the app it runs in a child process:
 * the kit sets `QUIT_TESTING_ENV=1` in the child's environment, and the module's reporter
 * then writes every shutdown event as one line `QUIT_TESTING_MARK <json>` on stdout (the
 * `quit.ended` one carries the report). Nothing is written without the variable.
 */
export const QUIT_TESTING_ENV = 'NESTJS_QUIT_TESTING';
export const QUIT_TESTING_MARK = '@@nestjs-quit';
