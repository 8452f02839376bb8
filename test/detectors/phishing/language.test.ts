import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  COMMON_WORDS,
  guessLanguage,
  languageCounts,
  languageSampleWeights,
  languageWarnings,
  tallyLanguages,
} from '../../../src/detectors/phishing/language.js';
import { PhishingDetector } from '../../../src/detectors/phishing/phishing-detector.js';
import { phishNotes } from '../../../src/detectors/phishing/report.js';

const SENTENCES: Record<string, string> = {
  en: 'Thank you for your order. The parcel is on its way and you will have it with this tracking number.',
  de: 'Vielen Dank für Ihre Bestellung. Das Paket ist unterwegs und wir senden Ihnen eine Nachricht, wenn es nicht ankommt.',
  nl: 'Bedankt voor uw bestelling. Het pakket is onderweg en wij sturen een bericht als het niet aankomt.',
  pt: 'Obrigado pelo seu pedido. Você não precisa fazer mais nada até a entrega dos produtos, isso é muito simples.',
  es: 'Gracias por su pedido. Usted puede seguir el envío del paquete, pero este correo es muy importante.',
  fr: 'Merci pour votre commande. Vous recevrez le colis dans trois jours avec les documents, nous ne sommes pas en retard.',
  it: 'Grazie per il suo ordine. Il pacco è in viaggio e sono anche disponibili gli aggiornamenti della spedizione.',
};

describe('language guess (common short words)', () => {
  for (const [code, sentence] of Object.entries(SENTENCES)) {
    it(`finds ${code}`, () => assert.equal(guessLanguage(sentence), code));
  }

  it('lists each common word under one language only', () => {
    const all = Object.values(COMMON_WORDS).flat();
    assert.equal(new Set(all).size, all.length);
  });

  it('says unknown for too few common words, for ties and for no words', () => {
    assert.equal(guessLanguage('Invoice 4711 attached'), 'unknown');
    assert.equal(guessLanguage('the and you und der das'), 'unknown');
    assert.equal(guessLanguage(''), 'unknown');
    assert.equal(guessLanguage('https://example.com/login?id=0000'), 'unknown');
  });

  it('reads only the first maxWords words', () => {
    const text = `${'the and you '.repeat(2)} ${'und der das ist '.repeat(50)}`;
    assert.equal(guessLanguage(text), 'de');
    assert.equal(guessLanguage(text, 6), 'en');
  });

  it('counts both classes per language', () => {
    const counts = languageCounts(
      [SENTENCES.en as string, SENTENCES.de as string, SENTENCES.de as string, 'ok'],
      [0, 1, 0, 1],
    );
    assert.deepEqual(counts, {
      en: { legitimate: 1, phishing: 0 },
      de: { legitimate: 1, phishing: 1 },
      unknown: { legitimate: 0, phishing: 1 },
    });
  });

  it('warns where one class is (nearly) missing for a language, in either direction', () => {
    const warnings = languageWarnings({
      en: { legitimate: 3849, phishing: 978 },
      de: { legitimate: 2, phishing: 151 },
      pt: { legitimate: 15, phishing: 86 },
      nl: { legitimate: 0, phishing: 19 },
      fr: { legitimate: 1, phishing: 37 },
      it: { legitimate: 300, phishing: 4 },
      unknown: { legitimate: 0, phishing: 500 },
    });
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.match(
      warnings[0] ?? '',
      /^German: 151 phishing but 2 legitimate .*legitimate German messages are likely to be flagged/,
    );
    assert.match(warnings[1] ?? '', /^French: 37 phishing but 1 legitimate training example; /);
    assert.match(
      warnings[2] ?? '',
      /^Italian: 4 phishing but 300 legitimate .*Italian phishing is likely to be missed/,
    );
  });
});

describe('language sample weights', () => {
  const en = SENTENCES.en as string;
  const de = SENTENCES.de as string;
  const it_ = SENTENCES.it as string;

  it('weigh the abundant class of a lopsided language, in either direction, and nothing else', () => {
    const texts = [...Array(30).fill(en), ...Array(10).fill(en), ...Array(25).fill(de), ...Array(22).fill(it_), it_];
    const labels = [...Array(30).fill(0), ...Array(10).fill(1), ...Array(25).fill(1), ...Array(22).fill(0), 1];
    const result = languageSampleWeights(tallyLanguages(texts, labels), labels, 0.1);
    assert.deepEqual(result?.languages, ['de', 'it']);
    const weights = Array.from(result?.weights ?? []);
    assert.deepEqual(weights.slice(0, 40), Array(40).fill(1));
    assert.deepEqual(weights.slice(40, 65), Array(25).fill(0.1));
    // Italian: 22 legitimate and 1 phishing, so the legitimate ones weigh 0.1.
    assert.deepEqual(weights.slice(65), [...Array(22).fill(0.1), 1]);
  });

  it('are undefined at weight 1 or without a lopsided language, and refuse a weight outside [0, 1]', () => {
    const texts = [...Array(30).fill(en), ...Array(25).fill(de)];
    const labels = [...Array(30).fill(0), ...Array(25).fill(1)];
    assert.equal(languageSampleWeights(tallyLanguages(texts, labels), labels, 1), undefined);
    const english = labels.map((_, i) => i % 2).slice(0, 30);
    assert.equal(languageSampleWeights(tallyLanguages(texts.slice(0, 30), english), english, 0.1), undefined);
    assert.throws(
      () => languageSampleWeights(tallyLanguages(texts, labels), labels, 1.5),
      /language weight must be in \[0, 1\], got 1.5/,
    );
  });
});

describe('training summary: languages', () => {
  it('counts the training texts per language, warns about nearly phishing-only German and weighs it down', async () => {
    const english = (i: number) => `Hi, the meeting is at ${i} and you can bring your notes for this week, thanks`;
    const spam = (i: number) => `You have won ${i} pounds, claim your prize with this code and reply to the number`;
    const german = (i: number) =>
      `Sie haben ${i} Euro gewonnen, das ist Ihre Chance und wir senden eine Karte, nicht warten`;
    // Two legitimate German messages share German's common words with the 25 German phishing ones.
    const germanHam = (i: number) =>
      `Das Treffen ist um ${i} Uhr und wir bringen eine Karte mit, das ist nicht schlimm`;
    const texts = [
      ...Array.from({ length: 40 }, (_, i) => english(i)),
      ...Array.from({ length: 2 }, (_, i) => germanHam(i)),
      ...Array.from({ length: 20 }, (_, i) => spam(i)),
      ...Array.from({ length: 25 }, (_, i) => german(i)),
    ];
    const labels = texts.map((_, i) => (i < 42 ? 0 : 1));
    const detector = new PhishingDetector({ mode: 'sms' });
    const summary = detector.fitRows(
      texts.map((t) => detector.featurize(t)),
      labels,
      { folds: 3, targetFpr: 0.05, training: { epochs: 3 } },
    );
    assert.deepEqual(summary.languages, {
      en: { legitimate: 40, phishing: 20 },
      de: { legitimate: 2, phishing: 25 },
    });
    assert.equal(summary.warnings.length, 1, summary.warnings.join('\n'));
    assert.match(summary.warnings[0] ?? '', /^German: 25 phishing but 2 legitimate/);
    assert.match(
      summary.warnings[0] ?? '',
      /Training weighed the phishing ones ×0\.1 so that the language counts for less/,
    );
    assert.equal(summary.languageWeight, 0.1);
    assert.deepEqual(summary.reweightedLanguages, ['de']);
    assert.deepEqual(detector.info.training.languages, summary.languages);
    // The report carries the warning beside its other caveats.
    assert.ok(phishNotes(detector).includes(`Training warning: ${summary.warnings[0]}`));

    // Weighed down, German phishing teaches less "German → phishing": a harmless German message scores lower.
    const free = new PhishingDetector({ mode: 'sms' });
    const freeSummary = free.fitRows(
      texts.map((t) => free.featurize(t)),
      labels,
      { folds: 3, targetFpr: 0.05, training: { epochs: 3 }, languageWeight: 1 },
    );
    assert.deepEqual(freeSummary.reweightedLanguages, []);
    assert.doesNotMatch(freeSummary.warnings[0] ?? '', /Training weighed/);
    const harmless = 'Wir sehen uns morgen, das ist nicht schlimm und ich bringe eine Karte mit';
    assert.ok(
      detector.logit(harmless) < free.logit(harmless) - 0.5,
      `${detector.logit(harmless)} vs ${free.logit(harmless)}`,
    );
    // German phishing is still flagged: what else it says (prize, Chance) carries it.
    assert.ok(detector.logit(german(99)) > detector.threshold, `${detector.logit(german(99))}`);
  });

  it('puts a caveat on the verdict of a message in a lopsided language, also after save and load', async () => {
    const german = 'Sie haben 5 Euro gewonnen, das ist Ihre Chance und wir senden eine Karte, nicht warten';
    const texts = [
      ...Array.from({ length: 30 }, (_, i) => `Hi, the meeting is at ${i} and you can bring your notes for this week`),
      ...Array.from({ length: 10 }, (_, i) => `You have won ${i} pounds, claim your prize with this code and reply`),
      ...Array.from({ length: 25 }, () => german),
    ];
    const labels = texts.map((_, i) => (i < 30 ? 0 : 1));
    const detector = new PhishingDetector({ mode: 'sms' });
    detector.fitRows(
      texts.map((t) => detector.featurize(t)),
      labels,
      { folds: 3, targetFpr: 0.05, training: { epochs: 2 } },
    );
    const caveat =
      /^German: trained on 0 legitimate and 25 phishing German messages; this score rests on little evidence$/;
    assert.match(detector.score(german).caveat ?? '', caveat);
    assert.equal(
      detector.score('Hi, the meeting is at 9 and you can bring your notes for this week').caveat,
      undefined,
    );
    const dir = mkdtempSync(join(tmpdir(), 'aegis-lang-'));
    await detector.save(dir);
    const loaded = await PhishingDetector.load(dir);
    assert.match(loaded.score(german).caveat ?? '', caveat);
  });
});
