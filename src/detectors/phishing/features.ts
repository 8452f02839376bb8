/**
 * One input row per event for the phishing model: the named signals of the mode (./signals.ts) as a
 * small dense vector, and the normalised text (./text.ts) as a sparse hashed n-gram vector
 * (./sparse-hashing.ts). Three modes share the model:
 *
 * - 'mail': a parsed RFC 822 message (MailMessage): header, URL, attachment and cue signals plus
 *   the subject and visible body text;
 * - 'url': a URL string alone (the URL data set): lexical signals plus word and character n-grams
 *   of the URL;
 * - 'sms': a short text message: cue, link, phone and money signals plus its n-grams.
 */
import { AegisInputError } from '../../core/errors.js';
import { type HashingVectorizerOptions, tokenize } from '../../data/hashing-vectorizer.js';
import { foldHomoglyphs } from './confusables.js';
import type { MailMessage } from './parse-mail.js';
import {
  cueSignals,
  MAIL_SIGNALS,
  mailSignals,
  mailStructureSignals,
  obfuscationSignals,
  type Signal,
  SMS_SIGNALS,
  smsSignals,
  URL_SIGNALS,
  urlSignals,
} from './signals.js';
import { SparseHasher, type SparseVector } from './sparse-hashing.js';
import { normaliseText } from './text.js';

export const PHISH_MODES = ['mail', 'url', 'sms'] as const;
export type PhishMode = (typeof PHISH_MODES)[number];

/** A parsed message in mail mode, a URL or a text message otherwise. */
export type PhishEvent = MailMessage | string;

export interface FeatureConfig {
  mode: PhishMode;
  /** 2^bits hashed text buckets. */
  bits: number;
  wordNgrams: [number, number];
  /** char_wb n-grams; null for none. */
  charNgrams: [number, number] | null;
  /** NFKC + confusables fold of the text before hashing and cue matching (the homoglyph defence). */
  foldHomoglyphs: boolean;
  /** Text beyond this many characters is not hashed. */
  maxTextChars: number;
  /** Leave out the named signals (text only), e.g. for ablations. */
  textOnly: boolean;
  /** Count each n-gram once per text (sklearn binary=True) instead of its frequency. */
  binary: boolean;
  /**
   * Mail: also hash the subject's words as their own tokens (subject_word), as Bayesian spam
   * filters tokenise the subject apart from the body (Graham 2002; SpamAssassin's Bayes).
   */
  subjectTokens?: boolean;
}

export const FEATURE_DEFAULTS: Readonly<Record<PhishMode, FeatureConfig>> = {
  mail: {
    mode: 'mail',
    bits: 18,
    wordNgrams: [1, 2],
    charNgrams: null,
    foldHomoglyphs: true,
    maxTextChars: 20_000,
    textOnly: false,
    binary: false,
    subjectTokens: true,
  },
  url: {
    mode: 'url',
    bits: 16,
    wordNgrams: [1, 2],
    charNgrams: [3, 5],
    foldHomoglyphs: true,
    maxTextChars: 2_000,
    textOnly: false,
    binary: false,
  },
  sms: {
    mode: 'sms',
    bits: 16,
    wordNgrams: [1, 2],
    charNgrams: [3, 5],
    foldHomoglyphs: true,
    maxTextChars: 5_000,
    textOnly: false,
    binary: false,
  },
};

/**
 * Mail signals that are not warning signs either way (a count of link domains is PILFER's
 * feature, high in newsletters and in lures alike). Every other mail signal is a phishing
 * indicator; by default its weight is held ≥ 0 (PhishTrainOptions.monotone).
 */
export const NEUTRAL_MAIL_SIGNALS: ReadonlySet<string> = new Set(['link-domains']);

export function parsePhishMode(text: string): PhishMode {
  if (!(PHISH_MODES as readonly string[]).includes(text)) {
    throw new AegisInputError(`--mode must be one of ${PHISH_MODES.join(', ')}, got '${text}'`);
  }
  return text as PhishMode;
}

export interface FeatureRow {
  dense: Float32Array;
  sparse: SparseVector;
  signals: Signal[];
  /** The text that was hashed (normalised). */
  text: string;
}

/** The event with its text replaced (mail: subject up to the first newline, then the body). */
export function withText(event: PhishEvent, rawText: string): PhishEvent {
  if (typeof event === 'string') return rawText;
  const cut = rawText.indexOf('\n');
  return { ...event, subject: cut < 0 ? rawText : rawText.slice(0, cut), text: cut < 0 ? '' : rawText.slice(cut + 1) };
}

function isMail(event: PhishEvent): event is MailMessage {
  return typeof event === 'object' && event !== null && 'links' in event && 'subject' in event;
}

export class Featurizer {
  readonly config: FeatureConfig;
  readonly denseNames: readonly string[];
  readonly hasher: SparseHasher;
  private readonly position: ReadonlyMap<string, number>;

  /** `denseNames`: the signal order of a saved model (older models know fewer signals); default the mode's list. */
  constructor(config: FeatureConfig, denseNames?: readonly string[]) {
    this.config = config;
    const names = config.mode === 'mail' ? MAIL_SIGNALS : config.mode === 'url' ? URL_SIGNALS : SMS_SIGNALS;
    this.denseNames = config.textOnly ? [] : (denseNames ?? names);
    this.position = new Map(this.denseNames.map((n, i) => [n, i]));
    const hashing: HashingVectorizerOptions = {
      bits: config.bits,
      wordNgrams: config.wordNgrams,
      binary: config.binary,
      ...(config.charNgrams ? { charNgrams: config.charNgrams } : {}),
    };
    this.hasher = new SparseHasher(hashing);
  }

  /** Indices of the dense signals that are phishing indicators (mail mode; none in URL and SMS modes). */
  get indicatorIndices(): number[] {
    if (this.config.mode !== 'mail') return [];
    return this.denseNames.flatMap((n, j) => (NEUTRAL_MAIL_SIGNALS.has(n) ? [] : [j]));
  }

  private check(event: PhishEvent): void {
    if (this.config.mode === 'mail' ? !isMail(event) : typeof event !== 'string') {
      throw new AegisInputError(
        `phishing detector in ${this.config.mode} mode needs ${this.config.mode === 'mail' ? 'parsed messages' : 'strings'}`,
      );
    }
  }

  /** The raw text of an event, before normalisation (what a text attack edits). */
  rawText(event: PhishEvent): string {
    this.check(event);
    return typeof event === 'string' ? event : `${event.subject}\n${event.text}`;
  }

  /** The text the model hashes (of an event, or of a raw text in this mode). */
  modelText(event: PhishEvent): string {
    const raw = (typeof event === 'string' ? event : this.rawText(event)).slice(0, this.config.maxTextChars);
    if (this.config.mode === 'url') {
      return (this.config.foldHomoglyphs ? foldHomoglyphs(raw) : raw).toLowerCase();
    }
    const text = normaliseText(raw, { foldHomoglyphs: this.config.foldHomoglyphs });
    if (this.config.mode !== 'mail' || !this.config.subjectTokens) return text;
    const cut = text.indexOf('\n');
    const subject = tokenize((cut < 0 ? text : text.slice(0, cut)).toLowerCase());
    return subject.length === 0 ? text : `${text}\n${subject.map((w) => `subject_${w}`).join(' ')}`;
  }

  signals(event: PhishEvent): Signal[] {
    this.check(event);
    if (this.config.textOnly) return [];
    const fold = this.config.foldHomoglyphs;
    if (this.config.mode === 'mail') return mailSignals(event as MailMessage, fold);
    if (this.config.mode === 'url') return urlSignals(event as string);
    return smsSignals(event as string, fold);
  }

  featurize(event: PhishEvent): FeatureRow {
    return this.row(this.signals(event), this.modelText(event));
  }

  private row(signals: Signal[], text: string): FeatureRow {
    const dense = new Float32Array(this.denseNames.length);
    for (const s of signals) {
      const j = this.position.get(s.feature);
      if (j !== undefined) dense[j] = Math.max(dense[j] as number, s.value);
    }
    return { dense, sparse: this.hasher.vectorize(text), signals, text };
  }

  /**
   * A featurizer of rewordings of one event: `(rawText) => row` as if the event's text (subject +
   * body for mail) were `rawText`. Signals that do not depend on the wording are computed once —
   * what a text attack calls thousands of times.
   */
  textVariants(event: PhishEvent): (rawText: string) => FeatureRow {
    this.check(event);
    const fold = this.config.foldHomoglyphs;
    const none = this.config.textOnly;
    if (this.config.mode === 'mail') {
      const structure = none ? [] : mailStructureSignals(event as MailMessage);
      const sender = (event as MailMessage).from?.name ?? '';
      const subjectOf = (raw: string) => raw.slice(0, raw.indexOf('\n') < 0 ? raw.length : raw.indexOf('\n'));
      return (raw) =>
        this.row(
          none ? [] : [...structure, ...cueSignals(raw, fold), ...obfuscationSignals(subjectOf(raw), sender)],
          this.modelText(raw),
        );
    }
    return (raw) => this.row(this.signals(raw), this.modelText(raw));
  }
}
