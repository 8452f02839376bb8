/**
 * The artefact-only baseline: a model that sees ONLY what differs between mail collections
 * rather than between phishing and legitimate mail — the Date year, the number of Received hops,
 * the set of header names (hashed), the mbox envelope, the collector's bookkeeping headers
 * (Status, X-UID, X-Keywords, Content-Length, Lines), Delivered-To / X-Original-To, mailing-list
 * headers, the message size. The detector reads none of these (./signals.ts, ./text.ts).
 *
 * If this baseline separates the classes, the corpora carry collection artefacts a naive model
 * would learn; the detector's cross-corpus figures then show whether it learned them. Run it on
 * the same splits as the detector and report both.
 */
import type { FeatureRow } from './features.js';
import type { MailMessage } from './parse-mail.js';
import { SparseHasher } from './sparse-hashing.js';

export const ARTEFACT_FEATURES: readonly string[] = [
  'date-year',
  'date-missing',
  'received-hops',
  'mbox-envelope',
  'bookkeeping-headers',
  'delivered-to',
  'x-original-to',
  'list-headers',
  'message-size',
  'header-count',
];

/** Header names hash into 2^ARTEFACT_BITS buckets. */
export const ARTEFACT_BITS = 10;

const BOOKKEEPING = new Set(['status', 'x-status', 'x-uid', 'x-keywords', 'content-length', 'lines']);
const hasher = new SparseHasher({ bits: ARTEFACT_BITS, wordNgrams: [1, 1], binary: true, norm: 'l2' });

/** One artefact row: the dense features above plus the header-name set as hashed words. */
export function artefactRow(m: MailMessage): FeatureRow {
  const a = m.artefacts;
  const names = new Set(a.headerNames);
  const dense = Float32Array.from([
    a.year === undefined ? 0 : Math.max(0, Math.min(1, (a.year - 1995) / 35)),
    a.year === undefined ? 1 : 0,
    Math.log1p(a.receivedCount) / 3,
    a.envelope ? 1 : 0,
    [...names].some((n) => BOOKKEEPING.has(n)) ? 1 : 0,
    names.has('delivered-to') ? 1 : 0,
    names.has('x-original-to') ? 1 : 0,
    [...names].some((n) => n.startsWith('list-')) ? 1 : 0,
    Math.log1p(a.bytes) / 15,
    Math.min(1, a.headerNames.length / 60),
  ]);
  // Header names as one "word" each (hyphens → underscores so the tokenizer keeps them whole).
  const text = [...names].map((n) => `h_${n.replace(/[^a-z0-9]/g, '_')}`).join(' ');
  return { dense, sparse: hasher.vectorize(text), signals: [], text };
}

export const ARTEFACT_BUCKETS = 2 ** ARTEFACT_BITS;
