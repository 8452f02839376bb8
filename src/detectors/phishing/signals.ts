// Feature families after Fette, Sadeh & Tomasic, "Learning to Detect Phishing Emails", WWW 2007 (PILFER), and Ma et al., "Beyond Blacklists", KDD 2009 (lexical URL features).
/**
 * The named (non-text) features of each mode, as signals: a value in [0, 1] and a sentence an
 * analyst reads. Only non-zero signals are returned; ./features.ts places them in the dense part of
 * the model's input by name. None of them reads a collection artefact (dates, hop counts, header
 * name sets, the mbox envelope): those live in MailMessage.artefacts for the baseline only.
 */
import { hasDoubleExtension, isRiskyAttachment } from './attachments.js';
import { brandsInText, lookalikeBrand } from './brands.js';
import { HOMOGLYPHS } from './confusables.js';
import { analyzeUrl, domainNamedIn, registrableDomain, type UrlInfo } from './domains.js';
import { extractTextUrls } from './html.js';
import type { MailAddress, MailMessage } from './parse-mail.js';
import { findCues } from './text.js';

export interface Signal {
  feature: string;
  value: number;
  detail: string;
}

export const SIGNAL_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'reply-to-mismatch': 'Reply-To goes to another registrable domain than From',
  'reply-to-freemail': 'replies go to a free webmail address other than the sender (the advance-fee pattern)',
  'return-path-mismatch': 'Return-Path (envelope sender) is another registrable domain than From',
  'display-name-brand': 'the display name names a brand that the From domain does not belong to',
  'display-name-address': 'the display name shows an address or domain other than the real sender',
  'from-lookalike': 'the From domain imitates a brand domain (edit distance, homoglyphs, brand token)',
  'spf-fail': 'a receiving server recorded an SPF failure',
  'dkim-fail': 'a receiving server recorded a DKIM failure',
  'dmarc-fail': 'a receiving server recorded a DMARC failure',
  'received-helo-mismatch': 'a Received hop introduced itself by an IP literal other than its connecting IP',
  'received-forged': 'a Received hop is annotated as possibly forged',
  'url-ip-host': 'a link points at a bare IP address',
  'url-punycode': 'a link host uses punycode (internationalised look-alike)',
  'url-lookalike': 'a link domain imitates a brand domain',
  'url-brand-subdomain': "a brand's name sits in the subdomain of another site",
  'url-shortener': 'a link goes through a URL shortener',
  'url-deep-subdomain': 'a link host has three or more subdomain labels',
  'url-at-sign': 'a link carries credentials before the host (user@host)',
  'url-port': 'a link uses an explicit non-web port',
  'anchor-domain-mismatch': 'a link text names one domain while the link goes to another',
  'html-form': 'the message body holds a form or password field',
  'html-only': 'the message is HTML with no plain-text alternative',
  'html-script': 'the HTML runs script (script tags, javascript: links, event handlers)',
  'here-link-offsite': 'a "click here"-style link goes to another domain than most of the links',
  'link-domains': 'number of distinct link domains (10+ = 1)',
  'attachment-risky': 'an attachment type runs code or renders a page when opened',
  'attachment-double-ext': 'an attachment hides its type behind a double extension',
  'attachment-macro': 'an Office attachment carries VBA macros',
  'urgency-cues': 'urgency phrases (suspension, deadlines, security alerts)',
  'credential-cues': 'credential or payment-data requests',
  'obfuscated-words':
    'the subject or sender name hides words from filters (invisible characters, Latin mixed with look-alike letters, 0/1 for o/l)',
  'url-https': 'the URL uses https',
  'url-length': 'URL length (scaled, 150+ characters = 1)',
  'url-host-digits': 'share of digits in the host name',
  'url-host-hyphens': 'hyphens in the host name (3+ = 1)',
  'url-path-depth': 'path depth (6+ = 1)',
  'url-sensitive-words': 'sensitive words in the URL (login, verify, account, secure …)',
  'url-suspicious-tld': 'a top-level domain often abused for phishing',
  'sms-url': 'the message carries a link',
  'sms-phone': 'the message carries a phone number or short code to call or text',
  'sms-money': 'money, prizes or charges',
};

/** Link-structure signals, shared by mail and URL-only mode (order matters: saved models list signals by position). */
const URL_STRUCTURE: readonly string[] = [
  'url-ip-host',
  'url-punycode',
  'url-lookalike',
  'url-brand-subdomain',
  'url-shortener',
  'url-deep-subdomain',
  'url-at-sign',
  'url-port',
];

export const MAIL_SIGNALS: readonly string[] = [
  'reply-to-mismatch',
  'return-path-mismatch',
  'display-name-brand',
  'display-name-address',
  'from-lookalike',
  'spf-fail',
  'dkim-fail',
  'dmarc-fail',
  'received-helo-mismatch',
  'received-forged',
  ...URL_STRUCTURE,
  'anchor-domain-mismatch',
  'html-form',
  'html-only',
  'html-script',
  'here-link-offsite',
  'link-domains',
  'attachment-risky',
  'attachment-double-ext',
  'attachment-macro',
  'urgency-cues',
  'credential-cues',
  'obfuscated-words',
  'reply-to-freemail',
];

export const URL_SIGNALS: readonly string[] = [
  ...URL_STRUCTURE,
  'url-https',
  'url-length',
  'url-host-digits',
  'url-host-hyphens',
  'url-path-depth',
  'url-sensitive-words',
  'url-suspicious-tld',
];

export const SMS_SIGNALS: readonly string[] = [
  'urgency-cues',
  'credential-cues',
  'sms-url',
  'sms-phone',
  'sms-money',
  'url-ip-host',
  'url-lookalike',
  'url-shortener',
];

// ---------------------------------------------------------------------------------------
// Headers

function domainOf(a: MailAddress | undefined): string {
  return a?.host ? registrableDomain(a.host) : '';
}

/** Free webmail providers (registrable domain's first label), as SpamAssassin's FREEMAIL_REPLYTO rule. */
const FREEMAIL =
  /^(?:gmail|googlemail|yahoo|ymail|rocketmail|hotmail|outlook|live|aol|mail|email|usa|gmx|web|yandex|protonmail|proton|icloud|me|zoho|qq|163|126|sina|rediffmail|tutanota|fastmail|inbox|naver|hanmail|libero|virgilio|laposte|seznam|wp|o2|interia|netscape|excite|lycos|juno)\./;

function isFreemail(domain: string): boolean {
  return domain !== '' && FREEMAIL.test(domain);
}

function headerSignals(m: MailMessage): Signal[] {
  const out: Signal[] = [];
  const from = domainOf(m.from);
  const reply = m.replyTo.map(domainOf).find((d) => d && from && d !== from);
  if (reply) {
    out.push({
      feature: 'reply-to-mismatch',
      value: 1,
      detail: `Reply-To domain ${reply} differs from From domain ${from}`,
    });
  }
  const fromAddress = m.from?.address.toLowerCase() ?? '';
  const free = m.replyTo.find((a) => a.address.toLowerCase() !== fromAddress && isFreemail(domainOf(a)));
  if (free) {
    out.push({
      feature: 'reply-to-freemail',
      value: 1,
      detail: `replies go to the webmail address ${free.address}, not to the sender ${fromAddress || '(none)'}`,
    });
  }
  const rp = domainOf(m.returnPath);
  if (rp && from && rp !== from) {
    out.push({
      feature: 'return-path-mismatch',
      value: 1,
      detail: `Return-Path domain ${rp} differs from From domain ${from}`,
    });
  }
  const name = m.from?.name ?? '';
  if (name) {
    const brand = brandsInText(name).find((b) => !b.domains.includes(from));
    if (brand) {
      out.push({
        feature: 'display-name-brand',
        value: 1,
        detail: `display name "${name}" names ${brand.name} but the address is at ${from || 'no domain'}`,
      });
    }
    const shown = /[\w.+-]+@([\w-]+(?:\.[\w-]+)+)/.exec(name)?.[1] ?? domainNamedIn(name);
    const shownDomain = shown ? registrableDomain(shown) : '';
    if (shownDomain && from && shownDomain !== from) {
      out.push({
        feature: 'display-name-address',
        value: 1,
        detail: `display name shows ${shownDomain} but the message is from ${from}`,
      });
    }
  }
  if (from) {
    const brand = lookalikeBrand(from.split('.')[0] ?? '', from);
    if (brand) {
      out.push({
        feature: 'from-lookalike',
        value: 1,
        detail: `From domain ${from} imitates ${brand.name} (${brand.domains[0]})`,
      });
    }
  }
  const auth = m.authResults.join(' ; ').toLowerCase();
  for (const [mech, re] of [
    ['spf', /\bspf=(fail|softfail|permerror)\b/],
    ['dkim', /\bdkim=(fail|permerror)\b/],
    ['dmarc', /\bdmarc=(fail|permerror)\b/],
  ] as const) {
    const hit = re.exec(auth);
    if (hit) out.push({ feature: `${mech}-fail`, value: 1, detail: `Authentication-Results: ${mech}=${hit[1]}` });
  }
  for (const r of m.received) {
    const hop = /^from\s+(\S+)\s+\(([^)]*)\)/i.exec(r);
    const helo = hop?.[1] ?? '';
    const ip = /\[(\d{1,3}(?:\.\d{1,3}){3})\]/.exec(hop?.[2] ?? '')?.[1];
    if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(helo) && ip && helo !== ip && !ip.startsWith('127.')) {
      out.push({
        feature: 'received-helo-mismatch',
        value: 1,
        detail: `a Received hop said HELO ${helo} but connected from ${ip}`,
      });
      break;
    }
  }
  if (m.received.some((r) => /may be forged|\(forged\)/i.test(r))) {
    out.push({ feature: 'received-forged', value: 1, detail: 'a Received hop is marked "may be forged"' });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// URLs

/** Structure signals of a set of analysed URLs (the first URL that shows each one is named). */
function urlStructureSignals(infos: readonly UrlInfo[]): Signal[] {
  const out: Signal[] = [];
  const first = (test: (u: UrlInfo) => boolean) => infos.find(test);
  const add = (feature: string, u: UrlInfo | undefined, detail: (u: UrlInfo) => string) => {
    if (u) out.push({ feature, value: 1, detail: detail(u) });
  };
  add(
    'url-ip-host',
    first((u) => u.isIp),
    (u) => `link to the bare IP ${u.hostname}`,
  );
  add(
    'url-punycode',
    first((u) => u.punycode),
    (u) => `link host ${u.hostname} is punycode`,
  );
  add(
    'url-lookalike',
    first((u) => u.lookalike !== undefined),
    (u) => `link domain ${u.domain} imitates ${u.lookalike?.name} (${u.lookalike?.domains[0]})`,
  );
  add(
    'url-brand-subdomain',
    first((u) => u.brandInSubdomain !== undefined),
    (u) => `link host ${u.hostname} puts ${u.brandInSubdomain?.name} in front of ${u.domain}`,
  );
  add(
    'url-shortener',
    first((u) => u.shortener),
    (u) => `link through the shortener ${u.domain}`,
  );
  add(
    'url-deep-subdomain',
    first((u) => u.subdomainDepth >= 3),
    (u) => `link host ${u.hostname} has ${u.subdomainDepth} subdomain labels`,
  );
  add(
    'url-at-sign',
    first((u) => u.atSign),
    (u) => `link ${u.url.slice(0, 80)} hides its host after an @`,
  );
  add(
    'url-port',
    first((u) => u.port),
    (u) => `link ${u.url.slice(0, 80)} uses an explicit port`,
  );
  return out;
}

const MAX_LINKS = 200;
const HERE = /^\s*(?:click\s+)?(?:here|link|login|log in|sign in|verify|update|confirm)\b/i;

function linkSignals(m: MailMessage): Signal[] {
  const links = m.links.slice(0, MAX_LINKS);
  const infos: UrlInfo[] = [];
  let mismatch: Signal | undefined;
  for (const link of links) {
    const info = analyzeUrl(link.href);
    if (!info) continue;
    infos.push(info);
    if (!mismatch && link.text) {
      const named = domainNamedIn(link.text);
      if (named && named !== info.domain) {
        mismatch = {
          feature: 'anchor-domain-mismatch',
          value: 1,
          detail: `link text shows ${named} but the link goes to ${info.domain}`,
        };
      }
    }
  }
  const out = urlStructureSignals(infos);
  if (mismatch) out.push(mismatch);
  if (m.hasForm) out.push({ feature: 'html-form', value: 1, detail: 'the HTML body holds a form or password field' });
  if (m.htmlOnly) out.push({ feature: 'html-only', value: 1, detail: 'HTML body without a plain-text part' });
  if (m.hasScript) out.push({ feature: 'html-script', value: 1, detail: 'the HTML runs script' });
  const counts = new Map<string, number>();
  for (const u of infos) counts.set(u.domain, (counts.get(u.domain) ?? 0) + 1);
  if (counts.size > 0) {
    out.push({
      feature: 'link-domains',
      value: Math.min(1, counts.size / 10),
      detail: `links to ${counts.size} domains`,
    });
    // PILFER's "here" links: the link a reader is told to click goes somewhere else than the rest.
    const modal = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
    const here = links.find((l) => HERE.test(l.text) && analyzeUrl(l.href)?.domain !== modal && analyzeUrl(l.href));
    if (here && counts.size > 1) {
      out.push({
        feature: 'here-link-offsite',
        value: 1,
        detail: `"${here.text.slice(0, 40)}" goes to ${analyzeUrl(here.href)?.domain}, most links go to ${modal}`,
      });
    }
  }
  return out;
}

function attachmentSignals(m: MailMessage): Signal[] {
  const out: Signal[] = [];
  const risky = m.attachments.find((a) => isRiskyAttachment(a.filename));
  if (risky)
    out.push({ feature: 'attachment-risky', value: 1, detail: `attachment ${risky.filename} (${risky.contentType})` });
  const double = m.attachments.find((a) => hasDoubleExtension(a.filename));
  if (double)
    out.push({
      feature: 'attachment-double-ext',
      value: 1,
      detail: `attachment ${double.filename} has a double extension`,
    });
  const macro = m.attachments.find((a) => a.macro);
  if (macro)
    out.push({
      feature: 'attachment-macro',
      value: 1,
      detail: `attachment ${macro.filename || macro.contentType} carries VBA macros`,
    });
  return out;
}

/** Urgency and credential-request cue signals of a text. */
export function cueSignals(text: string, fold: boolean): Signal[] {
  const { urgency, credential } = findCues(text, fold);
  const out: Signal[] = [];
  const quote = (xs: string[]) =>
    xs
      .slice(0, 4)
      .map((x) => `"${x}"`)
      .join(', ');
  if (urgency.length > 0) {
    out.push({ feature: 'urgency-cues', value: Math.min(1, urgency.length / 3), detail: `urgency: ${quote(urgency)}` });
  }
  if (credential.length > 0) {
    out.push({
      feature: 'credential-cues',
      value: Math.min(1, credential.length / 3),
      detail: `credential request: ${quote(credential)}`,
    });
  }
  return out;
}

const LOOKALIKE_LETTERS: ReadonlySet<string> = new Set([...Object.values(HOMOGLYPHS).join('')]);
const INVISIBLE_CHAR = /[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]/;
const WORD_SPLIT = /[^\p{L}\p{N}\u00ad\u200b-\u200f\u2060-\u2064\ufeff]+/u;

/**
 * Words written to dodge keyword filters (SpamAssassin's obfuscation rules, the "pаypal" trick of
 * UTS #39): invisible characters between letters, ASCII letters mixed with look-alike letters of
 * another script in one word, or the digits 0/1 standing for o/l inside a word of 4+ letters
 * (C0NFIRMATI0N, 0fficial). Whole words of another script (Russian, Greek) do not count.
 */
export function obfuscatedWords(text: string): string[] {
  const out: string[] = [];
  for (const w of text.normalize('NFKC').split(WORD_SPLIT)) {
    if (w.length < 3) continue;
    const letters = w.replace(/[^\p{L}]/gu, '').length;
    const hidden =
      (INVISIBLE_CHAR.test(w) && letters >= 2) ||
      (/[A-Za-z]/.test(w) && [...w].some((ch) => LOOKALIKE_LETTERS.has(ch))) ||
      (/^[A-Za-z01]+$/.test(w) && letters >= 4 && !/[01]{2}/.test(w) && /[01][A-Za-z]/.test(w));
    if (hidden) out.push(w.replace(new RegExp(INVISIBLE_CHAR.source, 'g'), ''));
  }
  return out;
}

/** The obfuscated-words signal of a subject and a sender display name (both read as the recipient sees them). */
export function obfuscationSignals(subject: string, displayName: string): Signal[] {
  const words = obfuscatedWords(`${subject}\n${displayName}`);
  if (words.length === 0) return [];
  const shown = words
    .slice(0, 3)
    .map((w) => `"${w}"`)
    .join(', ');
  return [{ feature: 'obfuscated-words', value: 1, detail: `words disguised in the subject or sender name: ${shown}` }];
}

/** The signals of a message that do not depend on its wording (headers, links, attachments). */
export function mailStructureSignals(m: MailMessage): Signal[] {
  return [...headerSignals(m), ...linkSignals(m), ...attachmentSignals(m)];
}

/** Every non-text signal of a parsed message. */
export function mailSignals(m: MailMessage, fold = true): Signal[] {
  return [
    ...mailStructureSignals(m),
    ...cueSignals(`${m.subject}\n${m.text}`, fold),
    ...obfuscationSignals(m.subject, m.from?.name ?? ''),
  ];
}

// ---------------------------------------------------------------------------------------
// URL-only mode

const SENSITIVE =
  /login|log-in|signin|sign-in|verify|verification|account|update|secure|banking|confirm|password|webscr|wp-admin|wallet|invoice|auth/g;
export const SUSPICIOUS_TLDS: ReadonlySet<string> = new Set(
  'tk ml ga cf gq xyz top club online site info buzz icu live work click link rest fit cam monster surf'.split(' '),
);

/** Lexical signals of a URL string alone (the URL is never fetched). */
export function urlSignals(url: string): Signal[] {
  const info = analyzeUrl(url);
  if (!info) return [];
  const out = urlStructureSignals([info]);
  const u = url.trim();
  if (/^https:/i.test(u)) out.push({ feature: 'url-https', value: 1, detail: 'https' });
  out.push({ feature: 'url-length', value: Math.min(1, u.length / 150), detail: `${u.length} characters long` });
  const host = info.hostname;
  const digits = (host.match(/\d/g) ?? []).length;
  if (digits > 0 && !info.isIp) {
    out.push({
      feature: 'url-host-digits',
      value: digits / host.length,
      detail: `${digits} digits in the host ${host}`,
    });
  }
  const hyphens = (host.match(/-/g) ?? []).length;
  if (hyphens > 0)
    out.push({ feature: 'url-host-hyphens', value: Math.min(1, hyphens / 3), detail: `${hyphens} hyphens in ${host}` });
  const path = u.replace(/^[a-z]+:\/\/[^/]*/i, '');
  const depth = path.split('/').filter((p) => p.length > 0).length;
  if (depth > 0) out.push({ feature: 'url-path-depth', value: Math.min(1, depth / 6), detail: `path depth ${depth}` });
  const words = [...new Set(u.toLowerCase().match(SENSITIVE) ?? [])];
  if (words.length > 0) {
    out.push({
      feature: 'url-sensitive-words',
      value: Math.min(1, words.length / 2),
      detail: `sensitive words: ${words.join(', ')}`,
    });
  }
  const tld = info.isIp ? '' : (host.split('.').pop() ?? '');
  if (SUSPICIOUS_TLDS.has(tld))
    out.push({ feature: 'url-suspicious-tld', value: 1, detail: `top-level domain .${tld}` });
  return out;
}

// ---------------------------------------------------------------------------------------
// SMS / text-only mode

/** Signals of a short text message: cues, links, phone numbers, money. */
export function smsSignals(text: string, fold = true): Signal[] {
  const out = cueSignals(text, fold);
  const urls = extractTextUrls(text)
    .map(analyzeUrl)
    .filter((u): u is UrlInfo => u !== undefined);
  // Bare domains ("bit.ly/x", "claim-prize.com") count when their suffix is a real public suffix.
  const bare = text
    .split(/\s+/)
    .map((w) => w.replace(/^[("'<]+|[)"'>.,;:!?]+$/g, ''))
    .find((w) => w.includes('.') && domainNamedIn(w) !== undefined);
  if (urls.length > 0 || bare) out.push({ feature: 'sms-url', value: 1, detail: `link ${urls[0]?.url ?? bare}` });
  if (urls.length === 0 && bare) {
    const info = analyzeUrl(bare);
    if (info) urls.push(info);
  }
  out.push(...urlStructureSignals(urls).filter((s) => SMS_SIGNALS.includes(s.feature)));
  const phone = /(?:\+?\d[\d -]{8,}\d)|\b\d{5}\b/.exec(text)?.[0];
  if (phone) out.push({ feature: 'sms-phone', value: 1, detail: `number ${phone.trim()}` });
  const money =
    /[£$€]\s?\d[\d,.]*|\b\d[\d,.]*\s?(?:pounds|dollars|euros?)\b|\b(?:cash|prize|won|winner|reward)\b/i.exec(text)?.[0];
  if (money) out.push({ feature: 'sms-money', value: 1, detail: `money: "${money}"` });
  return out;
}
