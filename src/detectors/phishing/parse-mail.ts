/**
 * Parses one raw RFC 822 message (mailparser: MIME structure, transfer encodings, charsets) into
 * what the phishing features read: the sender addresses, the authentication verdicts recorded by
 * receiving servers, the Received chain, the visible text (text/plain, else the HTML's text), the
 * links with their anchor text, forms, and attachments (names, types, sizes, macros; contents are
 * inspected here and then dropped).
 *
 * Collection artefacts (the Date year, the number of Received hops, the set of header names, the
 * mbox envelope) are kept apart in `artefacts`: the detector never reads them; only the
 * artefact-only baseline does, to show what a model could learn from them.
 *
 * Bad input never crashes a batch: a message mailparser cannot read is a counted skip with its
 * reason; text decoded with replacement characters (non-UTF-8 bytes under a wrong or missing
 * charset) is kept best-effort with a warning.
 */
import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';
import { type AttachmentInfo, hasOfficeMacro } from './attachments.js';
import { extractHtmlLinks, extractTextUrls, type HtmlLink, hasHtmlForm, hasHtmlScript, htmlToText } from './html.js';
import type { MailBatch, MailSkip, RawMail } from './read-mail.js';

export interface MailAddress {
  name: string;
  address: string;
  /** Lowercased host part of the address ('' when there is none). */
  host: string;
}

export interface MailArtefacts {
  /** Year of the Date header (undefined when absent or unreadable). */
  year?: number;
  receivedCount: number;
  /** Lowercased header names, in order. */
  headerNames: string[];
  envelope: boolean;
  bytes: number;
}

export interface MailMessage {
  id: string;
  from?: MailAddress;
  replyTo: MailAddress[];
  returnPath?: MailAddress;
  subject: string;
  /** Visible body text: the text/plain part, else the text of the HTML part. */
  text: string;
  /** Links from the HTML (href + anchor text) and URLs written in the text (text = ''). */
  links: HtmlLink[];
  hasForm: boolean;
  /** The message has an HTML body, and no text/plain alternative beside it. */
  htmlOnly: boolean;
  /** The HTML runs script (script tags, javascript: links, on* handlers). */
  hasScript: boolean;
  attachments: AttachmentInfo[];
  /** Authentication-Results, ARC-Authentication-Results and Received-SPF values. */
  authResults: string[];
  /** Received header values, top (newest) first. */
  received: string[];
  artefacts: MailArtefacts;
  /** Best-effort notes (undecodable text, truncation). */
  warnings: string[];
}

export interface ParseMailOptions {
  /** Visible text beyond this many characters is dropped (bounds the cost of huge bodies). Default 100,000. */
  maxTextChars?: number;
}

const DEFAULT_MAX_TEXT = 100_000;

/** Unfolded values of every header line named `key` (lowercase), in message order. */
function headerValues(mail: ParsedMail, key: string): string[] {
  return mail.headerLines
    .filter((h) => h.key === key)
    .map((h) =>
      h.line
        .slice(h.line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim(),
    );
}

function hostOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0
    ? ''
    : address
        .slice(at + 1)
        .toLowerCase()
        .replace(/[>\].]+$/, '');
}

function toAddress(name: string, address: string): MailAddress {
  return { name: name.trim(), address: address.trim(), host: hostOf(address.trim()) };
}

function addresses(value: AddressObject | AddressObject[] | undefined): MailAddress[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.flatMap((o) => o.value).map((a) => toAddress(a.name ?? '', a.address ?? ''));
}

function returnPathOf(mail: ParsedMail): MailAddress | undefined {
  const raw = headerValues(mail, 'return-path')[0];
  if (raw === undefined) return undefined;
  const m = /<([^>]*)>/.exec(raw);
  const address = (m ? m[1] : raw)?.trim() ?? '';
  return address ? toAddress('', address) : undefined;
}

function yearOf(mail: ParsedMail): number | undefined {
  const y = mail.date?.getUTCFullYear();
  return y !== undefined && Number.isFinite(y) ? y : undefined;
}

/** Parses one raw message; throws only on input mailparser rejects (the batch parser counts those). */
export async function parseMail(raw: RawMail, options: ParseMailOptions = {}): Promise<MailMessage> {
  const mail = await simpleParser(Buffer.from(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength), {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
    keepCidLinks: true,
  });
  const warnings: string[] = [];
  if (raw.truncated) warnings.push('message cut at the size cap; later parts may be missing');
  const html = typeof mail.html === 'string' ? mail.html : '';
  const plain = mail.text ?? '';
  let text = plain.trim() !== '' ? plain : htmlToText(html);
  const max = options.maxTextChars ?? DEFAULT_MAX_TEXT;
  if (text.length > max) {
    warnings.push(`visible text cut at ${max} characters`);
    text = text.slice(0, max);
  }
  const subject = mail.subject ?? '';
  const replacements = (text.match(/\ufffd/g)?.length ?? 0) + (subject.match(/\ufffd/g)?.length ?? 0);
  if (replacements > 0) {
    warnings.push(`${replacements} undecodable byte sequence(s) (non-UTF-8 text under a wrong or missing charset)`);
  }
  const links: HtmlLink[] = html ? extractHtmlLinks(html) : [];
  const linked = new Set(links.map((l) => l.href));
  for (const url of extractTextUrls(plain)) if (!linked.has(url)) links.push({ href: url, text: '' });
  const attachments: AttachmentInfo[] = mail.attachments.map((a) => ({
    filename: a.filename ?? '',
    contentType: a.contentType ?? '',
    size: a.size ?? a.content?.length ?? 0,
    macro: a.content ? hasOfficeMacro(a.content) : false,
  }));
  const from = addresses(mail.from)[0];
  return {
    id: raw.id,
    ...(from ? { from } : {}),
    replyTo: addresses(mail.replyTo),
    ...(returnPathOf(mail) ? { returnPath: returnPathOf(mail) as MailAddress } : {}),
    subject,
    text,
    links,
    hasForm: html ? hasHtmlForm(html) : false,
    htmlOnly: html !== '' && plain.trim() === '',
    hasScript: html ? hasHtmlScript(html) : false,
    attachments,
    authResults: [
      ...headerValues(mail, 'authentication-results'),
      ...headerValues(mail, 'arc-authentication-results'),
      ...headerValues(mail, 'received-spf').map((v) => `spf=${v.split(/\s/)[0]?.toLowerCase() ?? ''}`),
    ],
    received: headerValues(mail, 'received'),
    artefacts: {
      ...(yearOf(mail) !== undefined ? { year: yearOf(mail) as number } : {}),
      receivedCount: headerValues(mail, 'received').length,
      headerNames: mail.headerLines.map((h) => h.key),
      envelope: raw.envelope,
      bytes: raw.bytes.length,
    },
    warnings,
  };
}

export interface ParsedBatch {
  messages: MailMessage[];
  skipped: MailSkip[];
  /** Reading and parsing warnings, each prefixed by the message id. */
  warnings: string[];
}

/** Parses every message of a batch; unparseable ones become counted skips. */
export async function parseMailBatch(batch: MailBatch, options: ParseMailOptions = {}): Promise<ParsedBatch> {
  const messages: MailMessage[] = [];
  const skipped = [...batch.skipped];
  const warnings = [...batch.warnings];
  for (const raw of batch.messages) {
    try {
      const message = await parseMail(raw, options);
      messages.push(message);
      for (const w of message.warnings)
        if (!raw.truncated || !w.startsWith('message cut')) warnings.push(`${raw.id}: ${w}`);
    } catch (error) {
      skipped.push({ id: raw.id, reason: `unreadable MIME (${(error as Error).message})` });
    }
  }
  return { messages, skipped, warnings };
}
