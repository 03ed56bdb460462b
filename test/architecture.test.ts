import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// DESIGN §3: api → contexts → store, objects, shared. Contexts are used through their index.ts only.
const SRC = path.resolve(import.meta.dirname, '..', 'src');
const CONTEXTS = ['objects', 'labeling', 'training', 'tuning', 'hosting', 'identity'];

function sourceFiles(dir: string, withTests = false): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p, withTests);
    return e.name.endsWith('.ts') && (withTests || !e.name.endsWith('.test.ts')) ? [p] : [];
  });
}

/** Bare package names a file imports (static, dynamic and type-only imports). */
function packageImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^.'"][^'"]*)['"]/g)].map((m) => m[1]!);
}

function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
    out.push(path.resolve(path.dirname(file), m[1]!));
  }
  return out;
}

const topFolder = (abs: string): string => path.relative(SRC, abs).split(path.sep)[0]!;

describe('architecture', () => {
  const files = sourceFiles(SRC);

  it('contexts and lower layers never import the api layer', () => {
    const offenders = files
      .filter((f) => topFolder(f) !== 'api' && topFolder(f) !== 'cli')
      .flatMap((f) =>
        imports(f)
          .filter((i) => topFolder(i) === 'api')
          .map((i) => `${path.relative(SRC, f)} → ${path.relative(SRC, i)}`),
      );
    expect(offenders).toEqual([]);
  });

  it('store, objects and shared never import a domain context', () => {
    const lower = new Set(['store', 'shared', 'config']);
    const offenders = files
      .filter((f) => lower.has(topFolder(f)))
      .flatMap((f) =>
        imports(f)
          .filter((i) => CONTEXTS.includes(topFolder(i)) && topFolder(i) !== 'objects')
          .map((i) => `${path.relative(SRC, f)} → ${path.relative(SRC, i)}`),
      );
    expect(offenders).toEqual([]);
  });

  it('hosting and training do not import each other', () => {
    const offenders = files
      .filter((f) => ['hosting', 'training'].includes(topFolder(f)))
      .flatMap((f) =>
        imports(f)
          .filter(
            (i) => ['hosting', 'training'].includes(topFolder(i)) && topFolder(i) !== topFolder(f),
          )
          .map((i) => `${path.relative(SRC, f)} → ${path.relative(SRC, i)}`),
      );
    expect(offenders).toEqual([]);
  });

  it('other folders reach a context only through its index.ts', () => {
    const offenders = files.flatMap((f) =>
      imports(f)
        .filter((i) => {
          const ctx = topFolder(i);
          if (!CONTEXTS.includes(ctx) || ctx === topFolder(f)) return false;
          const rel = path.relative(path.join(SRC, ctx), i).replace(/\.(js|ts)$/, '');
          return rel !== 'index';
        })
        .map((i) => `${path.relative(SRC, f)} → ${path.relative(SRC, i)}`),
    );
    expect(offenders).toEqual([]);
  });

  // The HTTP framework stays at the edge: contexts and lower layers (and their tests) are
  // framework-free, so a route's wire shape lives in one protocol's code under api/.
  it('no file outside src/api and src/cli imports fastify', () => {
    const offenders = sourceFiles(SRC, true)
      .filter((f) => topFolder(f) !== 'api' && topFolder(f) !== 'cli')
      .filter((f) =>
        packageImports(f).some(
          (p) => p === 'fastify' || p.startsWith('fastify/') || p.startsWith('@fastify/'),
        ),
      )
      .map((f) => path.relative(SRC, f));
    expect(offenders).toEqual([]);
  });
});
