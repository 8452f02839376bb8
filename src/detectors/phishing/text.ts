/**
 * The text the phishing model reads, and the cue phrases analysts look for.
 *
 * Normalisation removes what differs between corpora rather than between phishing and
 * legitimate mail: e-mail addresses (recipient rewrites such as username@domain.com,
 * zzzz@…taint.org, phishing@pot) become one token, URLs another (the URL features judge them),
 * the anonymised domains the collectors substituted become the address token, and every digit
 * becomes 0 (dates and years — 2002 against 2024 — stop naming the corpus). Optionally homoglyphs
 * are folded first (./confusables.ts): the defensive preprocessor.
 *
 * Cues (after Fette et al. 2007 and the APWG's lure taxonomy): urgency ("suspended", "within 24
 * hours", "final notice") and credential requests ("verify your account", "password", "card
 * number"), in English only — the corpora's non-English lures rely on the n-grams.
 */
import { foldHomoglyphs } from './confusables.js';

export interface NormaliseOptions {
  /** NFKC + confusables fold before anything else. Default true. */
  foldHomoglyphs?: boolean;
}

const EMAIL = /[\w.+'-]+@[\w-]+(?:\.[\w-]+)*/g;
const URL_IN_TEXT = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
/** Recipient/collector anonymisation the corpora applied (Nazario, SpamAssassin, phishing-pot). */
const REWRITES = /\b(?:(?:login\.)?domain\.com|monkey\.org|(?:spamassassin\.)?taint\.org|netnoteinc\.com)\b/gi;

/** The model's view of a message's text. */
export function normaliseText(text: string, options: NormaliseOptions = {}): string {
  const folded = options.foldHomoglyphs === false ? text : foldHomoglyphs(text);
  return folded
    .replace(URL_IN_TEXT, ' urltoken ')
    .replace(EMAIL, ' emailtoken ')
    .replace(REWRITES, ' emailtoken ')
    .replace(/\d/g, '0');
}

const URGENCY: readonly RegExp[] = [
  /\burgent(?:ly)?\b/,
  /\bimmediate(?:ly)?\b/,
  /\bas soon as possible\b/,
  /\bwithin (?:\d+|twenty[- ]four|forty[- ]eight|one|two|three|24|48|72) (?:hours?|days?|business days?)\b/,
  /\bsuspen(?:d|ded|sion)\b/,
  /\bdeactivat(?:e|ed|ion)\b/,
  /\bterminat(?:e|ed|ion)\b/,
  /\bexpir(?:e|es|ed|ation)\b/,
  /\b(?:final|last) (?:notice|warning|reminder|chance|attempt)\b/,
  /\bact now\b/,
  /\blimited (?:time|access)\b/,
  /\b(?:locked|restricted|on hold)\b/,
  /\bunusual (?:activity|sign[- ]?in|login)\b/,
  /\bunauthori[sz]ed (?:access|activity|login|transaction)s?\b/,
  /\bsecurity (?:alert|notice|warning|measure)s?\b/,
  /\bfailure to\b/,
  /\bwill be (?:closed|deleted|suspended|locked|terminated|cancell?ed)\b/,
];

const CREDENTIAL: readonly RegExp[] = [
  /\bpass(?:word|code)s?\b/,
  /\bpin(?: number| code)?\b/,
  /\buser ?(?:name|id)\b/,
  /\blog ?in\b|\bsign ?in\b|\bsign-in\b/,
  /\b(?:verify|confirm|validate|update|re-?enter|restore|reactivate) (?:your|the) (?:account|identity|information|details|billing|payment|records?|data|email|mailbox)\b/,
  /\bbilling (?:information|details|address)\b/,
  /\b(?:credit|debit) card\b|\bcard number\b|\bcvv2?\b|\bexpiration date\b/,
  /\bsocial security\b|\bssn\b/,
  /\b(?:account|routing) number\b/,
  /\bsecurity question\b|\bmother'?s maiden name\b/,
  /\bclick (?:here|below|the link|on the link)\b/,
];

function matches(text: string, patterns: readonly RegExp[]): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    const m = p.exec(text);
    if (m) out.push(m[0]);
  }
  return out;
}

/** The urgency and credential-request phrases found (each pattern counted once); fold as the model does. */
export function findCues(text: string, fold = true): { urgency: string[]; credential: string[] } {
  const t = (fold ? foldHomoglyphs(text) : text).toLowerCase().replace(/\s+/g, ' ');
  return { urgency: matches(t, URGENCY), credential: matches(t, CREDENTIAL) };
}
