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

const DROP = /<(script|style|head|title)\b[^>]*>[\s\S]*?<\/\1\s*>|<!--[\s\S]*?-->/gi;
const BREAK = /<(?:br|\/p|\/div|\/tr|\/li|\/h[1-6]|\/table|p|div|tr|li|h[1-6])\b[^>]*>/gi;

function collapse(text: string): string {
  return text
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n[ \n]*/g, '\n')
    .trim();
}

/** The visible text of an HTML document or fragment. */
export function htmlToText(html: string): string {
  const text = html
    .replace(DROP, ' ')
    .replace(BREAK, '\n')
    .replace(/<[^>]*>/g, ' ');
  return collapse(decodeEntities(text));
}

const ANCHOR = /<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi;
const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;

/** Every <a href> with its anchor text, in document order (mailto: and # links included). */
export function extractHtmlLinks(html: string): HtmlLink[] {
  const out: HtmlLink[] = [];
  for (const m of html.matchAll(ANCHOR)) {
    const href = HREF.exec(m[1] as string);
    if (!href) continue;
    const value = decodeEntities(href[1] ?? href[2] ?? href[3] ?? '').trim();
    out.push({ href: value, text: collapse(htmlToText(m[2] as string)).replace(/\n/g, ' ') });
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
