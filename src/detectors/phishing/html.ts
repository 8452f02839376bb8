/**
 * What a reader sees of an HTML mail body, without a browser: its visible text, its links (href
 * and the anchor text shown for it), and whether it holds a form or a password field. Regular
 * expressions over the markup, tolerant of the broken HTML phishing kits send; script, style and
 * comments are dropped; entities are decoded (named ones from a short list, all numeric ones).
 */

export interface HtmlLink {
  href: string;
  /** The anchor's visible text, whitespace-collapsed. */
  text: string;
}

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  euro: '€',
  pound: '£',
  laquo: '«',
  raquo: '»',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
  middot: '·',
  bull: '•',
};

/** Decodes &name; &#123; &#x1F; (unknown names stay as written). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});?/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[body.toLowerCase()] ?? whole;
  });
}

/** Names of the tags that break a line (matched right after '<'). */
const BREAK_NAME = /(?:br|\/p|\/div|\/tr|\/li|\/h[1-6]|\/table|p|div|tr|li|h[1-6])\b/iy;
const ANCHOR_NAME = /a\b/iy;
const BLOCK_OPEN = /<(script|style|head|title)\b|<!--/gi;

/**
 * Removes script, style, head and title blocks and comments in one linear pass: an unclosed
 * block runs to the end (no regex backtracking over hostile markup with thousands of them).
 */
function stripBlocks(html: string): string {
  const lower = html.toLowerCase();
  let out = '';
  let at = 0;
  BLOCK_OPEN.lastIndex = 0;
  for (let m = BLOCK_OPEN.exec(html); m; m = BLOCK_OPEN.exec(html)) {
    if (m.index < at) continue;
    const close = m[0] === '<!--' ? '-->' : `</${(m[1] as string).toLowerCase()}`;
    const end = lower.indexOf(close, m.index + m[0].length);
    out += `${html.slice(at, m.index)} `;
    if (end < 0) return out;
    const gt = lower.indexOf('>', end);
    at = gt < 0 ? html.length : gt + 1;
    BLOCK_OPEN.lastIndex = at;
  }
  return out + html.slice(at);
}

function collapse(text: string): string {
  return text
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n[ \n]*/g, '\n')
    .trim();
}

interface Tag {
  /** Index of '<'. */
  start: number;
  /** Index just after the tag name (of '<' + 1 without one). */
  inner: number;
  /** Index just after '>'. */
  end: number;
}

/**
 * The tags `/<NAME[^>]{0,max}>/g` matches, left to right as that regex would, in linear time: the
 * position of the next '>' is remembered instead of rescanned from every '<' (the regex costs
 * n·max on markup such as megabytes of '<' or '<p': a minute for one 4 MB message).
 */
function* tags(html: string, max: number, name?: RegExp): Generator<Tag> {
  let gt = -1;
  for (let i = html.indexOf('<'); i >= 0; ) {
    if (gt <= i) gt = html.indexOf('>', i + 1);
    if (gt < 0) return;
    let inner = i + 1;
    if (name) {
      name.lastIndex = i + 1;
      const m = name.exec(html);
      inner = m ? i + 1 + m[0].length : -1;
    }
    if (inner >= 0 && gt - inner <= max) {
      yield { start: i, inner, end: gt + 1 };
      i = html.indexOf('<', gt + 1);
    } else i = html.indexOf('<', i + 1);
  }
}

function replaceTags(html: string, max: number, by: string, name?: RegExp): string {
  let out = '';
  let at = 0;
  for (const t of tags(html, max, name)) {
    out += html.slice(at, t.start) + by;
    at = t.end;
  }
  return out + html.slice(at);
}

/** The visible text of an HTML document or fragment. Linear time. */
export function htmlToText(html: string): string {
  const text = replaceTags(replaceTags(stripBlocks(html), 2000, '\n', BREAK_NAME), 4000, ' ');
  return collapse(decodeEntities(text));
}

const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;
/** Anchor text beyond this many characters of markup is not read (an unclosed <a> runs on). */
const MAX_ANCHOR = 5000;

/** Every <a href> with its anchor text, in document order (mailto: and # links included). Linear time. */
export function extractHtmlLinks(html: string): HtmlLink[] {
  const out: HtmlLink[] = [];
  const lower = html.toLowerCase();
  let closeAt = -2; // next '</a' at or after the current anchor; -1 when there is none left
  for (const tag of tags(html, 4000, ANCHOR_NAME)) {
    const start = tag.end;
    if (closeAt !== -1 && closeAt < start) closeAt = lower.indexOf('</a', start);
    const href = HREF.exec(html.slice(tag.inner, tag.end - 1));
    if (!href) continue;
    const end = Math.min(closeAt < 0 ? html.length : closeAt, start + MAX_ANCHOR);
    const value = decodeEntities(href[1] ?? href[2] ?? href[3] ?? '').trim();
    out.push({ href: value, text: collapse(htmlToText(html.slice(start, end))).replace(/\n/g, ' ') });
  }
  return out;
}

/** A form (credential harvesting in the message itself) or a password input. */
export function hasHtmlForm(html: string): boolean {
  return /<form\b/i.test(html) || /<input\b[^>]*type\s*=\s*["']?password/i.test(html);
}

/** Script in the page: <script>, javascript: URLs or inline event handlers. */
export function hasHtmlScript(html: string): boolean {
  return /<script\b|javascript:|\son(?:load|click|mouseover|submit)\s*=/i.test(html);
}

const TEXT_URL = /\b(?:https?:\/\/|www\.)[^\s<>"'()[\]{}]+/gi;

/** URLs written out in plain text (http(s):// or www.), trailing punctuation trimmed. */
export function extractTextUrls(text: string): string[] {
  return [...text.matchAll(TEXT_URL)].map((m) => m[0].replace(/[.,;:!?]+$/, ''));
}
