/**
 * Where a process's resident memory is, for explaining an RSS figure rather than only stating it:
 * the V8 heap as committed and as used, memory outside it (Buffers, TLS, zlib), and from Linux's
 * /proc/self/smaps the pages of the node binary and of malloc's arenas.
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

export interface MemoryBreakdown {
  rss: number;
  /** V8 heap pages committed (used or not) and in use. */
  heapCommitted: number;
  heapUsed: number;
  /** Of the committed heap, the young generation's share: sized by V8 from the memory it sees. */
  youngCommitted: number;
  /** Memory held outside the V8 heap by JS objects (Buffers, ArrayBuffers). */
  external: number;
  /** Resident pages of the node executable: its code and read-only data, paged in as used. */
  nodeBinary: number | null;
  /** Resident pages of glibc's main malloc arena ([heap]); freed memory often stays resident. */
  mallocHeap: number | null;
}

const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space']);

export function memoryBreakdown(): MemoryBreakdown {
  const usage = process.memoryUsage();
  let youngCommitted = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (YOUNG_SPACES.has(space.space_name)) youngCommitted += space.space_size;
  }
  const mappings = residentByMapping();
  return {
    rss: usage.rss,
    heapCommitted: usage.heapTotal,
    heapUsed: usage.heapUsed,
    youngCommitted,
    external: usage.external,
    nodeBinary: mappings ? (mappings.get(process.execPath) ?? 0) : null,
    mallocHeap: mappings ? (mappings.get('[heap]') ?? 0) : null,
  };
}

/** Resident bytes per mapped file or pseudo-mapping; null where /proc/self/smaps does not exist. */
function residentByMapping(): Map<string, number> | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return null;
  }
  const totals = new Map<string, number>();
  let current = '';
  for (const line of text.split('\n')) {
    // A mapping header: "start-end perms offset dev inode [path]".
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      current = header[1] || '[anon]';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss) totals.set(current, (totals.get(current) ?? 0) + Number(rss[1]) * 1024);
  }
  return totals;
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Full collections until the heap stops shrinking (weak references and finalizers need a few);
 * returns the heap then used. The process must run with --expose-gc.
 */
export function collectGarbage(): number {
  if (!gc) throw new Error('run with node --expose-gc');
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    gc();
    const used = process.memoryUsage().heapUsed;
    // Less than 64 KiB freed by another pass: what is left is live.
    if (last - used < 64 * 1024) return used;
    last = used;
  }
  return process.memoryUsage().heapUsed;
}
