/** Writes a report where the user asked: a folder (report.json + report.html) and/or stdout. */
import { writeReport } from '../report/build-report.js';
import { formatRowsTable } from '../report/print-table.js';
import type { Report } from '../report/schema.js';

export interface EmitOptions {
  out?: string;
  /** Print the JSON document to stdout instead of the table. */
  json?: boolean;
}

export async function emitReport(report: Report, options: EmitOptions): Promise<void> {
  if (options.out) {
    const files = await writeReport(options.out, report);
    process.stderr.write(`report: ${files.json}\n        ${files.html}\n`);
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  process.stdout.write(
    `model ${report.model.name} (${report.model.access}), ${report.dataset.name}: clean accuracy ${pct(report.clean.accuracy)} on ${report.clean.size} examples\n\n`,
  );
  process.stdout.write(`${formatRowsTable(report.attacks)}\n`);
}
