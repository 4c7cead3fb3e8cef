/**
 * `npm run bench`: every benchmark in order, one table each, then the figures that missed their
 * target. `npm run bench -- inventory` runs only the named ones (resolver, indexes, resilience,
 * inventory, admission, lifecycle, reports). Missed targets are findings, not failures: the exit status is non-zero only
 * when a benchmark could not run.
 */
import { runAdmissionBench } from './admission.ts';
import { runIndexBench } from './indexes.ts';
import { runInventoryBench } from './inventory.ts';
import { runLifecycleBench } from './lifecycle.ts';
import { runReportsBench } from './reports.ts';
import { runResilienceBench } from './resilience.ts';
import { runResolverBench } from './resolver.ts';
import { printTable, type Table } from './table.ts';

interface Bench {
  name: string;
  run: () => Promise<Table>;
}

const BENCHES: Bench[] = [
  { name: 'resolver', run: runResolverBench },
  { name: 'indexes', run: runIndexBench },
  { name: 'resilience', run: runResilienceBench },
  { name: 'inventory', run: runInventoryBench },
  { name: 'admission', run: runAdmissionBench },
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
