import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedStatements } from './statement-cache.js';

describe('cachedStatements', () => {
  const opened: SQLite.Database[] = [];
  const open = () => {
    const db = new SQLite(':memory:');
    db.exec('create table t (k integer primary key, v text)');
    db.exec("insert into t values (1, 'a'), (2, 'b'), (3, 'c')");
    opened.push(db);
    return db;
  };
  afterEach(() => {
    for (const db of opened.splice(0)) if (db.open) db.close();
  });

  it('prepares a statement once per SQL text and reuses it', () => {
    const cache = cachedStatements(open());
    const a = cache.prepare('select v from t where k = ?');
    const b = cache.prepare('select v from t where k = ?');
    expect(b).toBe(a);
    expect(b.all([2])).toEqual([{ v: 'b' }]);
    expect(cache.prepare('select v from t where k = ? ')).not.toBe(a);
  });

  it('gives a statement that is still iterating a fresh one of its own', () => {
    const cache = cachedStatements(open());
    const sql = 'select k from t order by k';
    const iterating = cache.prepare(sql).iterate([]);
    expect(iterating.next().value).toEqual({ k: 1 });
    // The cached one is busy: a second reader must not share it.
    expect(cache.prepare(sql).all([])).toEqual([{ k: 1 }, { k: 2 }, { k: 3 }]);
    expect(iterating.next().value).toEqual({ k: 2 });
    iterating.return?.();
  });

  it('keeps at most `max` statements, evicting the least recently used', () => {
    const cache = cachedStatements(open(), 2);
    const one = cache.prepare('select 1');
    cache.prepare('select 2');
    expect(cache.prepare('select 1')).toBe(one); // now the most recent
    cache.prepare('select 3'); // evicts `select 2`
    expect(cache.prepare('select 1')).toBe(one);
    const two = cache.prepare('select 2');
    expect(cache.prepare('select 2')).toBe(two);
  });
});
