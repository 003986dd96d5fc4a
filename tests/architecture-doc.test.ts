/**
 * ARCHITECTURE.md's layout names every folder of the code, so a folder added or moved without
 * the page that explains it fails here instead of leaving the page behind.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/processes';

/** The text of the section whose heading contains `title`, up to the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.split('\n').findIndex((l) => l.startsWith('## ') && l.includes(title));
  assert.ok(start >= 0, `ARCHITECTURE.md has a "${title}" section`);
  const lines = markdown.split('\n').slice(start + 1);
  const end = lines.findIndex((l) => l.startsWith('## '));
  return lines.slice(0, end < 0 ? undefined : end).join('\n');
}

/** Every folder below `root`, relative to it (no caches, no hidden folders). */
function foldersUnder(root: string): string[] {
  return fs
    .readdirSync(root, { withFileTypes: true, recursive: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .filter((rel) => !rel.split(path.sep).some((p) => p === '__pycache__' || p.startsWith('.')))
    .sort();
}

const named = (text: string, name: string) =>
  new RegExp(`(?<![\\w-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`).test(text);

describe('ARCHITECTURE.md', () => {
  const root = repoRoot();
  const layout = section(fs.readFileSync(path.join(root, 'ARCHITECTURE.md'), 'utf8'), 'Layout');

  for (const base of ['src', path.join('gpu-runner', 'gpu_runner')]) {
    it(`names every folder under ${base}/ in its layout`, () => {
      const folders = foldersUnder(path.join(root, base));
      assert.ok(folders.length > 0, `${base}/ has folders`);
      const missing = folders.filter((f) => !named(layout, path.basename(f)));
      assert.deepEqual(missing, [], `folders the layout does not name: ${missing.join(', ')}`);
    });
  }
});
