/**
 * `npm run bench`: every benchmark in order, one table each, then the figures that missed their
 * target. `npm run bench -- inventory` runs only the named ones (resolver, inventory, admission).
 * Missed targets are findings, not failures: the exit status is non-zero only when a benchmark
 * could not run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInventoryBench } from './inventory.ts';
import { runLifecycleBench } from './lifecycle.ts';
import { runReportsBench } from './reports.ts';
import { runResolverBench } from './resolver.ts';
import { printTable, type Row, type Table } from './table.ts';

interface Bench {
  name: string;
  run: () => Promise<Table | null>;
}

/** The row shape bench/admission.ts first returned (a bare list, no verdicts), still accepted. */
interface BareRow {
  figure: string;
  result: string;
  target: string;
}

const ADMISSION_MODULE = './admission.ts';

/**
 * The admission benchmark lives in its own module; it is loaded by a computed specifier so this runner
 * works (and says so) without it.
 */
async function runAdmission(): Promise<Table | null> {
  if (!existsSync(fileURLToPath(new URL(ADMISSION_MODULE, import.meta.url)))) {
    process.stdout.write('Admission webhook: skipped, bench/admission.ts does not exist\n\n');
    return null;
  }
  const module = (await import(ADMISSION_MODULE)) as { runAdmissionBench?: unknown };
  if (typeof module.runAdmissionBench !== 'function') {
    process.stdout.write('Admission webhook: skipped, bench/admission.ts exports no runAdmissionBench()\n\n');
    return null;
  }
  const result = (await module.runAdmissionBench()) as Table | BareRow[];
  if (!Array.isArray(result)) return result;
  return {
    title: 'Admission webhook (targets stated, not judged)',
    rows: result.map((r): Row => ({ figure: r.figure, measured: r.result, target: r.target })),
  };
}

const BENCHES: Bench[] = [
  { name: 'resolver', run: runResolverBench },
  { name: 'inventory', run: runInventoryBench },
  { name: 'admission', run: runAdmission },
  { name: 'lifecycle', run: runLifecycleBench },
  { name: 'reports', run: runReportsBench },
];

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !BENCHES.some((b) => b.name === name));
  if (unknown.length) {
    process.stderr.write(
      `unknown benchmark: ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})\n`,
    );
    return 2;
  }
  const missed: string[] = [];
  let crashed = 0;
  for (const bench of BENCHES) {
    if (wanted.length && !wanted.includes(bench.name)) continue;
    const started = performance.now();
    try {
      const table = await bench.run();
      if (!table) continue;
      table.notes = [
        ...(table.notes ?? []),
        `${bench.name} took ${((performance.now() - started) / 1000).toFixed(0)} s`,
      ];
      printTable(table);
      for (const row of table.rows) if (row.ok === false) missed.push(`${bench.name}: ${row.figure}`);
    } catch (err) {
      crashed++;
      process.stdout.write(`${bench.name}: could not run: ${(err as Error).stack ?? String(err)}\n\n`);
    }
  }
  process.stdout.write(
    missed.length
      ? `Targets missed:\n${missed.map((m) => `  ${m}`).join('\n')}\n`
      : 'Every judged target met.\n',
  );
  return crashed ? 1 : 0;
}

process.exitCode = await main();
