/**
 * Synthetic mail for the phishing tests (the real corpora are not bundled): legitimate messages
 * (plain-text work mail between colleagues) and credential phishing (HTML, a brand in the display
 * name, Reply-To elsewhere, a link to an IP or a look-alike domain behind anchor text naming the
 * brand, urgency and credential requests), written as RFC 822 bytes, mbox files, and tar(.gz)
 * archives; plus hostile inputs (broken MIME, non-UTF-8 bodies, huge attachments, macros).
 */
import { gzipSync } from 'node:zlib';
import { Rng } from '../../src/core/rng.js';
import { buildZip } from './zip-bytes.js';

const HAM_TOPICS = [
  'the quarterly report draft is attached for review before the meeting',
  'can we move the design review to thursday afternoon',
  'lunch is on me this friday, the usual place near the office',
  'the build failed again on the integration server, I am looking into it',
  'here are my notes from the planning session with the product team',
  'the conference call with the vendor went well, minutes to follow',
  'please remember the team offsite next month, agenda in the wiki',
  'I pushed the fix for the parser bug, tests pass locally',
  'our cat had kittens, pictures at the weekend if you want one',
  'the library book club reads a new novel in october',
];
const HAM_EXTRA = ['thanks', 'cheers', 'see you', 'best', 'talk soon', 'regards from the lab'];

const LURES = [
  'We detected unusual activity on your account. Your account will be suspended within 24 hours unless you verify your account.',
  'Your mailbox is full. Click here to confirm your identity and restore access immediately.',
  'Final notice: update your billing information or your service will be terminated.',
  'Security alert: unauthorized login attempt. Please sign in and confirm your password.',
  'Your payment could not be processed. Re-enter your credit card number to avoid suspension.',
];
const BRANDS = [
  ['PayPal', 'paypal.com'],
  ['eBay', 'ebay.com'],
  ['Amazon', 'amazon.com'],
  ['Chase Bank', 'chase.com'],
] as const;
const LOOKALIKES = ['paypa1-secure.com', 'ebay-verify.net', 'arnazon-login.com', 'chase-alerts.info'];

export interface MailSpec {
  from: string;
  to?: string;
  replyTo?: string;
  returnPath?: string;
  subject: string;
  date?: string;
  headers?: string[];
  text?: string;
  html?: string;
  attachments?: { filename: string; contentType: string; data: Uint8Array }[];
  charset?: string;
}

/** An RFC 822 message (CRLF line ends, MIME multipart when it has HTML and text or attachments). */
export function buildMail(spec: MailSpec): string {
  const head = [
    `From: ${spec.from}`,
    `To: ${spec.to ?? 'alex@example.org'}`,
    ...(spec.replyTo ? [`Reply-To: ${spec.replyTo}`] : []),
    ...(spec.returnPath ? [`Return-Path: <${spec.returnPath}>`] : []),
    `Subject: ${spec.subject}`,
    `Date: ${spec.date ?? 'Tue, 14 May 2024 10:00:00 +0000'}`,
    'MIME-Version: 1.0',
    ...(spec.headers ?? []),
  ];
  const charset = spec.charset ?? 'utf-8';
  const parts: string[] = [];
  if (spec.text !== undefined) parts.push(`Content-Type: text/plain; charset=${charset}\r\n\r\n${spec.text}`);
  if (spec.html !== undefined) parts.push(`Content-Type: text/html; charset=${charset}\r\n\r\n${spec.html}`);
  for (const a of spec.attachments ?? []) {
    const b64 = Buffer.from(a.data).toString('base64').replace(/.{76}/g, '$&\r\n');
    parts.push(
      `Content-Type: ${a.contentType}; name="${a.filename}"\r\nContent-Disposition: attachment; filename="${a.filename}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}`,
    );
  }
  if (parts.length === 1 && !spec.attachments?.length) {
    return `${head.join('\r\n')}\r\n${parts[0]}\r\n`;
  }
  const boundary = 'b0undary-aegis';
  return `${head.join('\r\n')}\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${parts
    .map((p) => `--${boundary}\r\n${p}\r\n`)
    .join('')}--${boundary}--\r\n`;
}

export function hamMail(rng: Rng, i: number): string {
  const topic = HAM_TOPICS[rng.int(HAM_TOPICS.length)] as string;
  const other = HAM_TOPICS[rng.int(HAM_TOPICS.length)] as string;
  const sign = HAM_EXTRA[rng.int(HAM_EXTRA.length)] as string;
  const name = ['Sam', 'Kim', 'Lee', 'Jo', 'Max'][rng.int(5)] as string;
  return buildMail({
    from: `${name} Example <${name.toLowerCase()}${i}@example.org>`,
    returnPath: `${name.toLowerCase()}${i}@example.org`,
    subject: `Re: ${topic.split(' ').slice(0, 4).join(' ')} (${i})`,
    text: `Hi,\r\n\r\n${topic}. Also, ${other}.\r\nSee https://wiki.example.org/page/${i} for details.\r\n\r\n${sign},\r\n${name}\r\n`,
  });
}

export function phishMail(rng: Rng, i: number): string {
  const [brand, domain] = BRANDS[rng.int(BRANDS.length)] as readonly [string, string];
  const lure = LURES[rng.int(LURES.length)] as string;
  const target =
    rng.next() < 0.5
      ? `http://192.0.2.${1 + rng.int(200)}/${domain}/login.php`
      : `http://${LOOKALIKES[rng.int(4)]}/verify`;
  return buildMail({
    from: `"${brand} Security" <service${i}@mailer-${rng.int(1000)}.example.net>`,
    replyTo: `support@${LOOKALIKES[rng.int(4)]}`,
    returnPath: `bounce${i}@bulk-${rng.int(1000)}.example.com`,
    subject: `${brand}: action required on your account #${1000 + i}`,
    html: `<html><body><p>Dear customer,</p><p>${lure}</p><p><a href="${target}">https://www.${domain}/account</a></p><p>${brand} Team</p></body></html>`,
  });
}

/**
 * Phishing that differs from `hamMail` only by one lure sentence (same sender style, same
 * carrier text): a text model must rely on the lure's words — the target of text evasion tests.
 */
export function subtlePhishMail(rng: Rng, i: number): string {
  const ham = hamMail(rng, i);
  const lure = LURES[rng.int(LURES.length)] as string;
  return ham.replace('\r\nSee https://', `\r\n${lure}\r\nSee https://`);
}

/** A labelled synthetic corpus: `ham` legitimate and `phish` phishing messages (seeded). */
export function syntheticCorpus(ham: number, phish: number, seed = 1): { ham: string[]; phish: string[] } {
  const rng = new Rng(seed);
  return {
    ham: Array.from({ length: ham }, (_, i) => hamMail(rng, i)),
    phish: Array.from({ length: phish }, (_, i) => phishMail(rng, i)),
  };
}

/** Messages as a classic UNIX mbox (envelope lines, `From ` in bodies escaped). */
export function toMbox(messages: readonly string[]): string {
  return messages
    .map(
      (m, i) =>
        `From sender${i}@example.org  Tue May 14 10:00:${String(i % 60).padStart(2, '0')} 2024\n${m.replace(/\r\n/g, '\n').replace(/^From /gm, '>From ')}\n`,
    )
    .join('');
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** A ustar archive of files (optionally cut short by `truncateTo` bytes). */
export function buildTar(files: { name: string; data: Uint8Array | string }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const f of files) {
    const data = typeof f.data === 'string' ? new TextEncoder().encode(f.data) : f.data;
    const h = new Uint8Array(512);
    const put = (s: string, at: number) => h.set(new TextEncoder().encode(s), at);
    put(f.name, 0);
    put(octal(0o644, 8), 100);
    put(octal(0, 8), 108);
    put(octal(0, 8), 116);
    put(octal(data.length, 12), 124);
    put(octal(0, 12), 136);
    put('        ', 148);
    put('0', 156);
    put('ustar\0', 257);
    put('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h);
    const body = new Uint8Array(Math.ceil(data.length / 512) * 512);
    body.set(data);
    blocks.push(body);
  }
  blocks.push(new Uint8Array(1024));
  const total = blocks.reduce((a, b) => a + b.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

export function gzip(data: Uint8Array | string): Uint8Array {
  return gzipSync(typeof data === 'string' ? Buffer.from(data) : data);
}

/** A .docm-like OOXML zip with a VBA project part, and a plain .docx without one. */
export function officeZip(macro: boolean): Uint8Array {
  const enc = new TextEncoder();
  return buildZip([
    { name: '[Content_Types].xml', data: enc.encode('<Types/>') },
    { name: 'word/document.xml', data: enc.encode('<w:document/>') },
    ...(macro ? [{ name: 'word/vbaProject.bin', data: enc.encode('Attribute VB_Name = "Module1"') }] : []),
  ]);
}

/** A legacy OLE2 header followed by a `_VBA_PROJECT` directory name (UTF-16LE). */
export function oleWithMacro(): Uint8Array {
  const magic = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
  const name = [...'_VBA_PROJECT'].flatMap((c) => [c.charCodeAt(0), 0]);
  const out = new Uint8Array(1024);
  out.set(magic, 0);
  out.set(name, 600);
  return out;
}
