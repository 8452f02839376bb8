import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasDoubleExtension, hasOfficeMacro, isRiskyAttachment } from '../../../src/detectors/phishing/attachments.js';
import {
  brandInSubdomain,
  brandsInText,
  editDistance,
  lookalikeBrand,
} from '../../../src/detectors/phishing/brands.js';
import { foldHomoglyphs, skeleton } from '../../../src/detectors/phishing/confusables.js';
import { analyzeUrl } from '../../../src/detectors/phishing/domains.js';
import { type MailMessage, parseMail } from '../../../src/detectors/phishing/parse-mail.js';
import {
  mailSignals,
  obfuscatedWords,
  obfuscationSignals,
  smsSignals,
  urlSignals,
} from '../../../src/detectors/phishing/signals.js';
import { findCues, normaliseText } from '../../../src/detectors/phishing/text.js';
import { buildMail, officeZip, oleWithMacro } from '../../helpers/phish-synthetic.js';

async function parse(text: string): Promise<MailMessage> {
  return parseMail({ id: 't', bytes: new TextEncoder().encode(text), truncated: false, envelope: false });
}

const features = (m: MailMessage) => new Set(mailSignals(m).map((s) => s.feature));

describe('brands and homoglyphs', () => {
  it('finds look-alikes of brand domains, not the brands themselves or unrelated words', () => {
    assert.equal(lookalikeBrand('paypa1', 'paypa1.com')?.name, 'paypal');
    assert.equal(lookalikeBrand('pаypal', 'xn--pypal-4ve.com')?.name, 'paypal'); // Cyrillic а
    assert.equal(lookalikeBrand('xn--pypal-4ve', 'xn--pypal-4ve.com')?.name, 'paypal'); // the same, as punycode
    assert.equal(lookalikeBrand('paypal-secure', 'paypal-secure.com')?.name, 'paypal');
    assert.equal(lookalikeBrand('rnicrosoft', 'rnicrosoft.com')?.name, 'microsoft');
    assert.equal(lookalikeBrand('paypal', 'paypal.com'), undefined);
    assert.equal(lookalikeBrand('groups', 'groups.io'), undefined);
    assert.equal(lookalikeBrand('example', 'example.org'), undefined);
    assert.equal(brandInSubdomain('paypal.com.secure', 'evil.example')?.name, 'paypal');
    assert.deepEqual(
      brandsInText('PayPal Security Team').map((b) => b.name),
      ['paypal'],
    );
    assert.equal(editDistance('paypal', 'paypla'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('names the impersonated crypto wallets and antivirus brands in display names and domains', () => {
    assert.deepEqual(
      brandsInText('Support Team, Ledger©').map((b) => b.name),
      ['ledger'],
    );
    assert.deepEqual(
      brandsInText('Trust Wallet').map((b) => b.name),
      ['trustwallet'],
    );
    assert.equal(lookalikeBrand('mcafee-renewal', 'mcafee-renewal.com')?.name, 'mcafee');
    assert.equal(lookalikeBrand('ledger', 'ledger.com'), undefined);
  });

  it('finds words disguised from filters, not foreign-script words or ordinary numbers', () => {
    assert.deepEqual(obfuscatedWords('___C0NFIRMATI0N-53668___ 0fficial notice'), ['C0NFIRMATI0N', '0fficial']);
    assert.deepEqual(obfuscatedWords('Your wallet h\u0430s failed'), ['h\u0430s']); // Cyrillic а inside a Latin word
    assert.deepEqual(obfuscatedWords('New Me\u200bmb\u200ber\u200bship'), ['Membership']); // zero-width spaces
    assert.deepEqual(obfuscatedWords('Новая версия Windows 10Mbps x2 2024 Q1 B2B'), []);
    assert.deepEqual(obfuscatedWords('Meeting notes for the 10 am call'), []);
    assert.equal(obfuscationSignals('Hello', 'P\u0430yPal Service')[0]?.feature, 'obfuscated-words');
    assert.deepEqual(obfuscationSignals('Lunch on Friday?', 'Alice Example'), []);
  });

  it('folds homoglyphs and invisible characters but never changes ASCII', () => {
    assert.equal(foldHomoglyphs('vеrify yоur ассount'), 'verify your account');
    assert.equal(foldHomoglyphs('pass\u200bword'), 'password');
    assert.equal(foldHomoglyphs('ＰａｙＰａｌ'), 'PayPal');
    assert.equal(foldHomoglyphs('Order 1O0l is ready'), 'Order 1O0l is ready');
    assert.equal(skeleton('paypa1'), 'paypal');
    assert.equal(skeleton('rnicrosoft'), 'microsoft');
  });

  it('normalises text: addresses, URLs, recipient rewrites and digits', () => {
    const t = normaliseText('Dear username@domain.com, visit http://x.example/a in 2004 (jose@monkey.org)');
    assert.equal(t, 'Dear  emailtoken , visit  urltoken  in 0000 ( emailtoken )');
  });

  it('finds urgency and credential cues, and misses them under homoglyphs only without the fold', () => {
    const cues = findCues('URGENT: your account will be suspended. Verify your account and password now.');
    assert.deepEqual(cues.urgency, ['urgent', 'suspended', 'will be suspended']);
    assert.deepEqual(cues.credential, ['password', 'verify your account']);
    assert.deepEqual(findCues('pаsswоrd', false).credential, []);
    assert.deepEqual(findCues('pаsswоrd', true).credential, ['password']);
  });
});

describe('URL analysis', () => {
  it('flags IP hosts, punycode, shorteners, deep subdomains, userinfo and ports', () => {
    assert.equal(analyzeUrl('http://140.130.108.11/ebay/index.html')?.isIp, true);
    assert.equal(analyzeUrl('https://xn--pypal-4ve.com/')?.punycode, true);
    assert.equal(analyzeUrl('bit.ly/abc')?.shortener, true);
    assert.equal(analyzeUrl('http://a.b.c.login.example.com/')?.subdomainDepth, 4);
    assert.equal(analyzeUrl('http://www.example.com/')?.subdomainDepth, 0);
    const u = analyzeUrl('http://paypal.com@192.0.2.7:8080/x');
    assert.equal(u?.atSign, true);
    assert.equal(u?.port, true);
    assert.equal(u?.hostname, '192.0.2.7');
    assert.equal(analyzeUrl('mailto:a@b.com'), undefined);
  });

  it('URL-mode signals describe the URL string alone', () => {
    const names = (url: string) => urlSignals(url).map((s) => s.feature);
    assert.ok(names('http://paypal.com.account-verify.example.tk/login/secure').includes('url-brand-subdomain'));
    assert.ok(names('http://paypal.com.account-verify.example.tk/login/secure').includes('url-suspicious-tld'));
    assert.ok(names('http://paypal.com.account-verify.example.tk/login/secure').includes('url-sensitive-words'));
    assert.ok(!names('https://www.wikipedia.org/wiki/Phishing').includes('url-lookalike'));
  });

  it('SMS signals: links, phone numbers, money and cues', () => {
    const names = smsSignals('WINNER! Claim your £900 prize now, call 09061701461 or visit bit.ly/x urgent').map(
      (s) => s.feature,
    );
    for (const f of ['sms-url', 'url-shortener', 'sms-phone', 'sms-money', 'urgency-cues'])
      assert.ok(names.includes(f), f);
    assert.deepEqual(smsSignals('ok see you at 5 then'), []);
  });
});

describe('mail parsing and signals', () => {
  it('reads sender addresses, auth results, links with anchor text and forms', async () => {
    const m = await parse(
      buildMail({
        from: '"PayPal Service" <notice@mail-paypa1.example.net>',
        replyTo: 'help@collect.example.com',
        returnPath: 'bounce@bulk.example.org',
        subject: 'Account suspended',
        headers: [
          'Authentication-Results: mx.example.org; spf=softfail smtp.mailfrom=bulk.example.org; dkim=none; dmarc=fail header.from=mail-paypa1.example.net',
          'Received: from 10.1.2.3 (unknown [198.51.100.9]) by mx.example.org with SMTP',
        ],
        html: '<p>Your account is on hold. <a href="http://198.51.100.9/paypal/">www.paypal.com</a> <a href="http://bit.ly/x">click here</a></p><form action="x"><input type="password"></form>',
      }),
    );
    assert.equal(m.from?.host, 'mail-paypa1.example.net');
    assert.equal(m.replyTo[0]?.address, 'help@collect.example.com');
    assert.equal(m.returnPath?.address, 'bounce@bulk.example.org');
    assert.deepEqual(m.links[0], { href: 'http://198.51.100.9/paypal/', text: 'www.paypal.com' });
    assert.equal(m.hasForm, true);
    assert.equal(m.htmlOnly, true);
    const f = features(m);
    for (const name of [
      'reply-to-mismatch',
      'return-path-mismatch',
      'display-name-brand',
      'spf-fail',
      'dmarc-fail',
      'received-helo-mismatch',
      'url-ip-host',
      'url-shortener',
      'anchor-domain-mismatch',
      'html-form',
      'html-only',
      'here-link-offsite',
      'urgency-cues',
    ]) {
      assert.ok(f.has(name), `expected ${name} in ${[...f].join(', ')}`);
    }
    assert.ok(!f.has('dkim-fail'), 'dkim=none is not a failure');
  });

  it('replies diverted to a webmail address raise reply-to-freemail; a webmail sender replying to itself does not', async () => {
    const scam = await parse(
      buildMail({
        from: 'Barrister Jensen <info@lawfirm.example>',
        replyTo: 'jensen.claims@gmail.com',
        subject: 'Your awarded funds',
        text: 'Reply with your full name to claim.',
      }),
    );
    assert.ok(features(scam).has('reply-to-freemail'));
    const friend = await parse(
      buildMail({ from: 'Kim <kim@gmail.com>', replyTo: 'kim@gmail.com', subject: 'hi', text: 'See you soon.' }),
    );
    assert.ok(!features(friend).has('reply-to-freemail'));
  });

  it('a plain colleague mail raises no header, URL or attachment signal (only its link count)', async () => {
    const m = await parse(
      buildMail({
        from: 'Kim <kim@example.org>',
        replyTo: 'kim@example.org',
        returnPath: 'kim@example.org',
        subject: 'notes',
        text: 'Notes from today at https://wiki.example.org/notes',
      }),
    );
    assert.deepEqual(
      mailSignals(m).map((s) => s.feature),
      ['link-domains'],
    );
  });

  it('detects risky attachments, double extensions and Office macros (OOXML and OLE2)', async () => {
    assert.ok(isRiskyAttachment('invoice.exe'));
    assert.ok(hasDoubleExtension('invoice.pdf.exe'));
    assert.ok(!hasDoubleExtension('archive.tar.gz'));
    assert.ok(hasDoubleExtension('photo\u202egpj.exe'));
    assert.equal(hasOfficeMacro(officeZip(true)), true);
    assert.equal(hasOfficeMacro(officeZip(false)), false);
    assert.equal(hasOfficeMacro(oleWithMacro()), true);
    const m = await parse(
      buildMail({
        from: 'a@example.org',
        subject: 'invoice',
        text: 'see attached',
        attachments: [
          {
            filename: 'invoice.docm',
            contentType: 'application/vnd.ms-word.document.macroEnabled.12',
            data: officeZip(true),
          },
          { filename: 'scan.pdf.js', contentType: 'application/javascript', data: new TextEncoder().encode('x') },
        ],
      }),
    );
    assert.deepEqual(
      m.attachments.map((a) => [a.filename, a.macro]),
      [
        ['invoice.docm', true],
        ['scan.pdf.js', false],
      ],
    );
    const f = features(m);
    assert.ok(f.has('attachment-macro') && f.has('attachment-risky') && f.has('attachment-double-ext'));
  });

  it('decodes non-UTF-8 text best-effort with a warning instead of failing', async () => {
    const head = 'From: a@example.org\r\nSubject: caf\xe9\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n';
    const bytes = Buffer.from(`${head}Caf\xe9 cr\xe8me at na\xefve prices\r\n`, 'latin1');
    const m = await parseMail({ id: 'latin1', bytes, truncated: false, envelope: false });
    assert.match(m.text, /Caf.* cr.*me/);
    assert.match(m.warnings.join(' '), /undecodable byte sequence/);
    const declared = Buffer.from(
      `${head.replace('utf-8', 'iso-8859-1').replace('caf\xe9', 'menu')}Caf\xe9\r\n`,
      'latin1',
    );
    const ok = await parseMail({ id: 'l1', bytes: declared, truncated: false, envelope: false });
    assert.equal(ok.text.trim(), 'Café');
    assert.deepEqual(ok.warnings, []);
  });

  it('broken MIME (no closing boundary, garbage parts) parses best-effort', async () => {
    const broken =
      'From: a@example.org\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nverify your account now\r\n--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@not base64@@@';
    const m = await parse(broken);
    assert.match(m.text, /verify your account/);
  });
});

describe('hostile HTML', () => {
  it('reads links and text linearly from markup with thousands of unclosed anchors and scripts', async () => {
    const { extractHtmlLinks, htmlToText } = await import('../../../src/detectors/phishing/html.js');
    const hostile = `${'<a href="http://x.example/">open '.repeat(20_000)}${'<script>'.repeat(20_000)}<p>tail</p>`;
    const links = extractHtmlLinks(hostile);
    assert.equal(links.length, 20_000);
    assert.equal(links[0]?.href, 'http://x.example/');
    assert.equal(
      htmlToText('<p>a</p><script>var x = "<p>hidden</p>";</script><style>p{}</style><!-- c --><p>b</p>'),
      'a\nb',
    );
    assert.match(htmlToText(hostile.slice(0, 2_000)), /^open open/);
  });
});
