/**
 * Labelled mail from paths: legitimate (ham, label 0) and phishing (label 1) messages read and
 * parsed (./read-mail.ts, ./parse-mail.ts), each remembering the path it came from (its corpus,
 * for cross-corpus splits). Exact duplicates — the same subject and visible text — are dropped
 * after their first occurrence, across both classes, so copies cannot sit on both sides of a
 * split (a message in both classes keeps its first label and the clash is counted).
 */
import { createHash } from 'node:crypto';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { MailMessage } from './parse-mail.js';
import { parseMailBatch } from './parse-mail.js';
import { type MailSkip, type ReadMailOptions, readMailPaths } from './read-mail.js';

export interface MailCorpus {
  messages: MailMessage[];
  /** 1 phishing, 0 legitimate. */
  labels: Int32Array;
  /** The path (as given) each message was read from. */
  sources: string[];
  skipped: MailSkip[];
  warnings: string[];
  duplicates: number;
  /** Seconds spent reading and parsing. */
  seconds: number;
}

function fingerprint(m: MailMessage): string {
  return createHash('sha1')
    .update(`${m.subject}\u0000${m.text.replace(/\s+/g, ' ').trim()}`)
    .digest('hex');
}

/** Reads and parses ham and phishing paths into one labelled, de-duplicated corpus. */
export async function loadMailCorpus(
  ham: readonly string[],
  phish: readonly string[],
  options: ReadMailOptions & { dedupe?: boolean } = {},
): Promise<MailCorpus> {
  const started = performance.now();
  const messages: MailMessage[] = [];
  const labels: number[] = [];
  const sources: string[] = [];
  const skipped: MailSkip[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const [paths, label] of [
    [ham, 0],
    [phish, 1],
  ] as const) {
    for (const path of paths) {
      const parsed = await parseMailBatch(readMailPaths([path], options));
      skipped.push(...parsed.skipped);
      warnings.push(...parsed.warnings);
      for (const m of parsed.messages) {
        const key = fingerprint(m);
        if (options.dedupe !== false && seen.has(key)) {
          duplicates++;
          continue;
        }
        seen.add(key);
        messages.push(m);
        labels.push(label);
        sources.push(path);
      }
    }
  }
  return {
    messages,
    labels: Int32Array.from(labels),
    sources,
    skipped,
    warnings,
    duplicates,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Seeded stratified split: `testFraction` of each class goes to the test part. */
export function splitIndices(labels: ArrayLike<number>, testFraction: number, seed: number): [number[], number[]] {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new AegisInputError(`--split must be a fraction in (0, 1), got ${testFraction}`);
  }
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const cls of [0, 1]) {
    const idx: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === cls) idx.push(i);
    rng.shuffle(idx);
    const cut = Math.round(idx.length * testFraction);
    test.push(...idx.slice(0, cut));
    train.push(...idx.slice(cut));
  }
  return [train.sort((a, b) => a - b), test.sort((a, b) => a - b)];
}
