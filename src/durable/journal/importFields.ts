/**
 * Field checks of an import: each says where in the file a value is wrong and
 * what it should be, as an ImportError (so nothing is applied).
 */
import { fromHex } from '../model/bytes';
import { ImportError } from '../model/errors';

export type Json = Record<string, unknown>;

export function fail(where: string, what: string): never {
  throw new ImportError(`${where}: ${what}`);
}
export function obj(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'expected an object');
  return value as Json;
}
export function str(o: Json, key: string, where: string, max = 10_000): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > max) fail(where, `"${key}" must be a string of at most ${max} characters`);
  // No field of ours holds U+0000, and PostgreSQL's text cannot: refused here on both stores alike.
  if (v.includes('\u0000')) fail(where, `"${key}" contains a NUL character`);
  return v;
}
export function optStr(o: Json, key: string, where: string, max = 10_000): string | null {
  return o[key] === null ? null : str(o, key, where, max);
}
export function int(o: Json, key: string, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(where, `"${key}" must be an integer from ${min} to ${max}`);
  return v as number;
}
export function hex(o: Json, key: string, where: string, length?: number): Uint8Array {
  const text = str(o, key, where, 200_000_000);
  let bytes: Uint8Array;
  try {
    bytes = fromHex(text);
  } catch {
    fail(where, `"${key}" is not hex`);
  }
  if (length !== undefined && bytes.length !== length) fail(where, `"${key}" must be ${length} bytes`);
  return bytes;
}


export function nonEmpty(o: Json, key: string, where: string, max = 200): string {
  const v = str(o, key, where, max);
  if (v.length === 0) fail(where, `"${key}" must not be empty`);
  return v;
}

export function optInt(o: Json, key: string, where: string): number | null {
  return o[key] === null ? null : int(o, key, where);
}

/** A list, absent meaning empty (files of schema 2 carry no session state). */
export function list(o: Json, key: string, where: string): unknown[] {
  if (o[key] === undefined) return [];
  if (!Array.isArray(o[key])) fail(where, `"${key}" must be a list`);
  return o[key] as unknown[];
}

export function oneOf<T extends string>(o: Json, key: string, where: string, allowed: readonly T[]): T {
  const v = o[key];
  if (!allowed.includes(v as T)) fail(where, `"${key}" must be one of ${allowed.join(', ')}`);
  return v as T;
}
