/**
 * htmlToText and extractHtmlLinks scan tags in linear time. They must read exactly what the
 * regular expressions they replaced read (checked on random markup against those expressions),
 * and megabytes of hostile markup ('<' or '<p' repeated: about a minute per 4 MB message with the
 * expressions) must not stall a batch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { decodeEntities, extractHtmlLinks, type HtmlLink, htmlToText } from '../../../src/detectors/phishing/html.js';
import { parseMailBatch } from '../../../src/detectors/phishing/parse-mail.js';
import { readMailBytes } from '../../../src/detectors/phishing/read-mail.js';

// The expressions html.ts used before the linear scan (inputs below hold no script/style/comment blocks).
const BREAK = /<(?:br|\/p|\/div|\/tr|\/li|\/h[1-6]|\/table|p|div|tr|li|h[1-6])\b[^>]{0,2000}>/gi;
const collapse = (text: string) =>
  text
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n[ \n]*/g, '\n')
    .trim();
const referenceText = (html: string) =>
  collapse(decodeEntities(html.replace(BREAK, '\n').replace(/<[^>]{0,4000}>/g, ' ')));

function referenceLinks(html: string): HtmlLink[] {
  const out: HtmlLink[] = [];
  const lower = html.toLowerCase();
  let closeAt = -2;
  const open = /<a\b([^>]{0,4000})>/gi;
  for (let m = open.exec(html); m; m = open.exec(html)) {
    const start = m.index + m[0].length;
    if (closeAt !== -1 && closeAt < start) closeAt = lower.indexOf('</a', start);
    const href = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(m[1] as string);
    if (!href) continue;
    const end = Math.min(closeAt < 0 ? html.length : closeAt, start + 5000);
    const value = decodeEntities(href[1] ?? href[2] ?? href[3] ?? '').trim();
    out.push({ href: value, text: collapse(referenceText(html.slice(start, end))).replace(/\n/g, ' ') });
  }
  return out;
}

const PIECES = [
  '<',
  '>',
  '<a ',
  '<A href="http://x.example/a">',
  "<a href='y'",
  '<a title="a<b" href=z>',
  '</a>',
  '<br>',
  '<br/',
  '<p',
  '<pre>',
  '</P >',
  '<h2 class=x>',
  '<div',
  ' ',
  '\n',
  'word',
  '&amp;',
  '&#x41;',
  'x'.repeat(1999),
  'y'.repeat(3999),
];

describe('HTML tag scan', () => {
  it('reads the same text and links as the regular expressions it replaced', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 400; trial++) {
      const parts = Array.from({ length: 1 + rng.int(30) }, () => PIECES[rng.int(PIECES.length)] as string);
      const html = parts.join('');
      assert.equal(htmlToText(html), referenceText(html), JSON.stringify(parts));
      assert.deepEqual(extractHtmlLinks(html), referenceLinks(html), JSON.stringify(parts));
    }
  });

  it('parses messages of megabytes of hostile markup (hang guard: the expressions took minutes)', {
    timeout: 60_000,
  }, async () => {
    for (const unit of ['<', '<p', '<a ', '</a', '<br ']) {
      const body = unit.repeat(Math.floor(2_000_000 / unit.length));
      const raw = `From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n${body}<a href="http://end.example/">end</a>\r\n`;
      const parsed = await parseMailBatch(readMailBytes('hostile.eml', new TextEncoder().encode(raw)));
      assert.equal(parsed.messages.length, 1, unit);
      // Read to its end: the link after the hostile markup is found.
      assert.ok(
        parsed.messages[0]?.links.some((l) => l.href === 'http://end.example/'),
        unit,
      );
    }
  });
});
