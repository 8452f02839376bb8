/** Writes a report where the user asked: a folder (report.json + report.html) and/or stdout. */

import { writeReport } from '../report/build-report.js';
import { formatRowsTable } from '../report/print-table.js';
import type { Report } from '../report/schema.js';
import { cliOutput } from './io.js';

export interface EmitOptions {
  out?: string;
  /** Print the JSON document to stdout instead of the table. */
  json?: boolean;
}

export async function emitReport(report: Report, options: EmitOptions): Promise<void> {
  if (options.out) {
    const files = await writeReport(options.out, report);
    cliOutput().err(`report: ${files.json}\n        ${files.html}\n`);
  }
  if (options.json) {
    cliOutput().out(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  cliOutput().out(
    `model ${report.model.name} (${report.model.access}), ${report.dataset.name}: clean accuracy ${pct(report.clean.accuracy)} on ${report.clean.size} examples\n\n`,
  );
  cliOutput().out(`${formatRowsTable(report.attacks)}\n`);
}
