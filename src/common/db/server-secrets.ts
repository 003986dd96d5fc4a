import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';

/**
 * A secret shared by every replica and kept across restarts, created on first use. The first
 * writer wins; everyone reads the winner's value.
 */
export async function serverSecret(ds: DataSource, key: string): Promise<string> {
  await ds.query(
    'INSERT INTO server_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
    [key, randomBytes(32).toString('base64url')],
  );
  const rows = await ds.query<{ value: string }[]>(
    'SELECT value FROM server_settings WHERE key = $1',
    [key],
  );
  return rows[0].value;
}
