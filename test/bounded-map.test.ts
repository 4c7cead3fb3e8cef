import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BoundedMap } from '../src/util/lru.ts';

describe('BoundedMap', () => {
  it('never holds more than its bound, whatever is set, and hands each evicted entry over once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat({ max: 20 }), { maxLength: 100 }),
        (max, keys) => {
          const evicted: number[] = [];
          const map = new BoundedMap<number, number>(max, (key) => evicted.push(key));
          for (const key of keys) {
            map.set(key, key);
            map.get(keys[0]!);
            assert.ok(map.size <= max);
          }
          // Every key set is either held or was evicted (set again later: held or evicted again).
          for (const key of new Set(keys)) assert.ok(map.has(key) || evicted.includes(key));
        },
      ),
    );
  });

  it('evicts the least recently read entry first once it is more than half full', () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>(4, (key) => evicted.push(key));
    for (const key of ['a', 'b', 'c']) map.set(key, 1);
    assert.equal(map.get('a'), 1); // past half: 'a' is now the most recent
    map.set('d', 1);
    map.set('e', 1);
    assert.deepEqual(evicted, ['b']);
    assert.ok(map.has('a'));
  });

  it('leaves the order alone on reads while at most half full (nothing is near eviction)', () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>(4, (key) => evicted.push(key));
    map.set('a', 1);
    map.set('b', 1);
    map.get('a'); // half full: order unchanged, 'a' stays the oldest
    map.set('c', 1);
    map.set('d', 1);
    map.set('e', 1);
    assert.deepEqual(evicted, ['a']);
  });

  it('reads without reordering through peek', () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>(2, (key) => evicted.push(key));
    map.set('a', 1);
    map.set('b', 1);
    assert.equal(map.peek('a'), 1);
    map.set('c', 1);
    assert.deepEqual(evicted, ['a']);
  });
});
