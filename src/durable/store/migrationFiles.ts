/**
 * Numbered SQL migration files, shared by the adapters: `NNN_name.sql` in a
 * folder per store (migrations/sqlite, migrations/postgres: same numbers,
 * schema-equivalent). Each adapter applies them in its own transactions.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationError } from '../model/errors';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const FILE_PATTERN = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Read `NNN_name.sql` files from a folder; gaps or duplicates are a packaging error. */
export function loadMigrations(dir: string): Migration[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new MigrationError(`cannot read the migrations folder ${dir}: ${(error as Error).message}`);
  }
  const migrations = names
    .filter((n) => n.endsWith('.sql'))
    .map((name) => {
      const match = FILE_PATTERN.exec(name);
      if (!match) throw new MigrationError(`migration file ${name} does not match NNN_name.sql`);
      return { version: Number(match[1]), name: match[2], sql: readFileSync(join(dir, name), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, index) => {
    if (m.version !== index + 1) throw new MigrationError(`migrations must be numbered 1, 2, 3… without gaps; found ${m.version} at position ${index + 1}`);
  });
  if (migrations.length === 0) throw new MigrationError(`no migrations found in ${dir}`);
  return migrations;
}

export function checksumOf(sql: string): string {
  // Line endings must not change the checksum (a checkout on Windows rewrites them).
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

