import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { adversariallyTrain } from '../../../src/detectors/phishing/adversarial-training.js';
import { budgetLimit, charEdits, modifiableWords } from '../../../src/detectors/phishing/evasion/constraints.js';
import { attackEvent, runTextEvasion } from '../../../src/detectors/phishing/evasion/text-attack.js';
import { homoglyph, synonym, typo } from '../../../src/detectors/phishing/evasion/transformations.js';
import type { MailMessage } from '../../../src/detectors/phishing/parse-mail.js';
import { parseMailBatch } from '../../../src/detectors/phishing/parse-mail.js';
import { PhishingDetector } from '../../../src/detectors/phishing/phishing-detector.js';
import { readMailBytes } from '../../../src/detectors/phishing/read-mail.js';
import { hamMail, subtlePhishMail, toMbox } from '../../helpers/phish-synthetic.js';

async function parsed(texts: string[]): Promise<MailMessage[]> {
  return (await parseMailBatch(readMailBytes('x.mbox', new TextEncoder().encode(toMbox(texts))))).messages;
}

describe('transformations and constraints', () => {
  it('propose readable one-word edits', () => {
    assert.ok(homoglyph.candidates('verify').includes('vеrify')); // Cyrillic е
    assert.ok(homoglyph.candidates('verify').every((c) => charEdits(c, 'verify') === 1));
    assert.ok(typo.candidates('account').includes('accuont'));
    assert.ok(typo.candidates('account').every((c) => c[0] === 'a' && c.at(-1) === 't'));
    assert.deepEqual(synonym.candidates('Account'), ['Profile', 'Membership']);
    assert.deepEqual(synonym.candidates('zebra'), []);
  });

  it('keep URLs, addresses, stopwords and short words out of reach, and bound the edits', () => {
    const text = 'Please verify your account at http://evil.example/verify or mail help@evil.example now';
    assert.deepEqual(
      modifiableWords(text).map((w) => w.word),
      ['Please', 'verify', 'account', 'mail'],
    );
    assert.equal(budgetLimit(text, { unit: 'words', eps: 0.05 }), 1);
    assert.equal(budgetLimit(text, { unit: 'words', eps: 0.5 }), 7); // 15 words, URL parts included
    assert.equal(budgetLimit(text, { unit: 'words', eps: 0 }), 0);
  });
});

describe('text evasion against the phishing text model', () => {
  let trainEvents: MailMessage[];
  let trainY: number[];
  let testPhish: MailMessage[];
  const opts = { seed: 2, folds: 3, targetFpr: 0.02, training: { epochs: 10 } };
  const plain = new PhishingDetector({ mode: 'mail', bits: 12, textOnly: true, foldHomoglyphs: false });
  const folded = new PhishingDetector({ mode: 'mail', bits: 12, textOnly: true, foldHomoglyphs: true });

  before(async () => {
    const rng = new Rng(11);
    const ham = Array.from({ length: 60 }, (_, i) => hamMail(rng, i));
    const phish = Array.from({ length: 40 }, (_, i) => subtlePhishMail(rng, 100 + i));
    trainEvents = await parsed([...ham, ...phish]);
    trainY = [...ham.map(() => 0), ...phish.map(() => 1)];
    testPhish = await parsed(Array.from({ length: 15 }, (_, i) => subtlePhishMail(rng, 200 + i)));
    await plain.fit(trainEvents, trainY, opts);
    await folded.fit(trainEvents, trainY, opts);
  });

  it('lowers recall as the budget grows, never changing links or addresses', () => {
    const r = runTextEvasion(plain, testPhish, { budgets: [0.05, 0.3] });
    const [low, high] = r.rows;
    assert.ok(low && high);
    assert.ok(low.cleanRecall >= 0.9, `clean recall ${low.cleanRecall}`);
    assert.ok(low.robustRecall <= low.cleanRecall && high.robustRecall <= low.robustRecall);
    assert.ok(high.robustRecall < high.cleanRecall, `robust ${high.robustRecall} vs clean ${high.cleanRecall}`);
    assert.ok(high.meanQueries > 10);
    for (const a of r.attacks) {
      const links = (t: string) => t.match(/https?:\/\/\S+/g) ?? [];
      assert.deepEqual(links(a.adversarialText), links(a.originalText));
      assert.ok(a.steps.length <= a.limit);
    }
  });

  it('the homoglyph fold defeats homoglyph-only edits; without it they evade', () => {
    const unfolded = runTextEvasion(plain, testPhish, { budgets: [0.3], transformations: ['homoglyph'] });
    const withFold = runTextEvasion(folded, testPhish, { budgets: [0.3], transformations: ['homoglyph'] });
    assert.ok((unfolded.rows[0]?.evasionRate as number) > 0, 'homoglyphs should evade the unfolded model');
    assert.equal(withFold.rows[0]?.evasionRate, 0);
    assert.equal(withFold.rows[0]?.robustRecall, withFold.rows[0]?.cleanRecall);
  });

  it('refuses URL mode and bad budgets', () => {
    const url = new PhishingDetector({ mode: 'url', bits: 8 });
    assert.throws(() => attackEvent(url, 'http://x.example', { budgets: [0.1] }), /mail and sms modes/);
    assert.throws(() => runTextEvasion(plain, testPhish, { budgets: [2] }), /fractions in \[0, 1\]/);
  });

  it('adversarial training raises robust recall under the same attack', () => {
    const before = runTextEvasion(plain, testPhish, { budgets: [0.3] }).rows[0];
    const hardened = new PhishingDetector({ mode: 'mail', bits: 12, textOnly: true, foldHomoglyphs: false });
    const rounds = adversariallyTrain(hardened, trainEvents, trainY, { ...opts, eps: 0.3, rounds: 1 });
    assert.ok((rounds[0]?.added as number) > 0);
    const after = runTextEvasion(hardened, testPhish, { budgets: [0.3] }).rows[0];
    assert.ok(before && after);
    assert.ok(after.robustRecall > before.robustRecall, `after ${after.robustRecall} vs before ${before.robustRecall}`);
  });
});
