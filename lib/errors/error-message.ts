import { types } from 'node:util';

/**
 * Whether a thrown value is an error. `instanceof Error` alone misses errors made in
 * another realm (a `vm` context, Jest's module sandbox), whose `Error` is another class.
 */
export function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/** The message of anything thrown: an `Error`'s message, or the value as a string. */
export function errorMessage(error: unknown): string {
  return isError(error) ? error.message : String(error);
}

/** The stack of an `Error`, for a logger's second argument; undefined for anything else. */
export function errorStack(error: unknown): string | undefined {
  return isError(error) ? error.stack : undefined;
}
