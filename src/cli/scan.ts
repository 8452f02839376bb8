/**
 * `aegis scan <path...>`: scan model files and folders for unsafe content (pickle code,
 * Keras Lambda layers, ONNX external-data escapes, hostile archives). Exit code 1 when any
 * finding is high or critical, 0 when clean, 2 when an input cannot be read.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { packageVersion } from '../core/version.js';
import type { FileScan } from '../defenses/model-scan/finding.js';
import { formatJson, formatSarif, formatText, summarize, summaryLine } from '../defenses/model-scan/output.js';
import { scanPath } from '../defenses/model-scan/scan-path.js';
import { cliOutput, requestExitCode } from './io.js';
import { parsePositiveNumber } from './parse-options.js';

interface ScanFlags {
  json?: boolean;
  sarif?: boolean;
  out?: string;
  allow: string[];
  maxEntryBytes?: string;
  maxRatio?: string;
}

/** Bytes: a whole number with an optional k/M/G suffix (powers of 1024). */
export function parseByteSize(flag: string, text: string): number {
  const m = /^(\d+)\s*([kmg]i?b?)?$/i.exec(text.trim());
  const scale = m?.[2] ? 1024 ** ('kmg'.indexOf(m[2][0].toLowerCase()) + 1) : 1;
  const value = m ? Number(m[1]) * scale : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new AegisInputError(`${flag} takes a positive size in bytes (e.g. 536870912 or 512M), got '${text}'`);
  }
  return value;
}

function collect(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

export function registerScanCommand(program: Command): void {
  program
    .command('scan')
    .description(
      'scan model files or folders for unsafe content (pickle, PyTorch, joblib, NumPy, Keras, HDF5, ONNX, safetensors)',
    )
    .argument('<path...>', 'files or folders to scan')
    .option('--json', 'print JSON: {files: [{path, format, bytes, findings: [...]}], summary}')
    .option('--sarif', 'print SARIF 2.1.0 for code-scanning tools')
    .option('--out <file>', 'write the report to this file instead of standard output (a summary line is printed)')
    .option('--allow <module.name>', "allow a pickle import, e.g. mypkg.MyModel or 'mypkg.*' (repeatable)", collect, [])
    .option('--max-entry-bytes <n>', 'largest archive entry or decompressed stream read (default 512M)')
    .option(
      '--max-ratio <n>',
      'largest compression ratio accepted for an archive entry (default 200; raise it for np.savez_compressed of sparse arrays)',
    )
    .action((paths: string[], flags: ScanFlags) => {
      if (flags.json && flags.sarif) throw new AegisInputError('--json and --sarif cannot be used together');
      const limits = {
        ...(flags.maxEntryBytes ? { maxEntryBytes: parseByteSize('--max-entry-bytes', flags.maxEntryBytes) } : {}),
        ...(flags.maxRatio ? { maxRatio: parsePositiveNumber('--max-ratio', flags.maxRatio) } : {}),
      };
      const scans: FileScan[] = [];
      for (const path of paths) scans.push(...scanPath(path, { limits, allow: flags.allow }));
      const report = flags.sarif
        ? formatSarif(scans, packageVersion())
        : flags.json
          ? formatJson(scans)
          : formatText(scans);
      const summary = summarize(scans);
      if (flags.out) {
        try {
          mkdirSync(dirname(flags.out), { recursive: true });
          writeFileSync(flags.out, report);
        } catch (error) {
          throw new AegisInputError(
            `--out ${flags.out}: cannot write (${(error as NodeJS.ErrnoException).code ?? error})`,
          );
        }
        cliOutput().out(`${summaryLine(summary)}\nreport written to ${flags.out}\n`);
      } else cliOutput().out(report);
      if (summary.unreadableFiles > 0) requestExitCode(2);
      else if (summary.blockingFiles > 0) requestExitCode(1);
    });
}
