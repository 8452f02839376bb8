/**
 * Labelled text: the bundled SMS Spam Collection (counts from its README), the three readers
 * (label<TAB>text, CSV, JSONL), de-duplication and seeded splits, and bad input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import {
  dedupeTexts,
  loadTextDataset,
  looksLikeTextData,
  parseLabelTabText,
  parseTextCsv,
  parseTextJsonl,
  splitTexts,
  textClassCounts,
} from '../../src/data/text-dataset.js';
import { rejectsWithInputError } from '../helpers/assertions.js';

const fails = (fn: () => unknown, pattern: RegExp) => rejectsWithInputError(Promise.resolve().then(fn), pattern);

describe('SMS Spam Collection (bundled)', () => {
  test("'sms-spam' loads 5,574 messages: 4,827 ham and 747 spam, 5,171 distinct", () => {
    const data = loadTextDataset('sms-spam');
    assert.equal(data.texts.length, 5574);
    assert.deepEqual(data.classNames, ['ham', 'spam']);
    assert.deepEqual(textClassCounts(data), [4827, 747]);
    assert.equal(data.y[2], 1);
    assert.match(data.texts[2] as string, /^Free entry in 2 a wkly comp/);
    assert.equal(dedupeTexts(data).texts.length, 5171);
    assert.equal(loadTextDataset('sms-spam', { limit: 10 }).texts.length, 10);
    assert.ok(looksLikeTextData('sms-spam') && looksLikeTextData('mail.jsonl') && !looksLikeTextData('x.csv'));
  });
});

describe('readers', () => {
  test('label<TAB>text splits on the first tab only and skips blank lines', () => {
    const data = parseLabelTabText('spam\tWin\tcash now\n\nham\thi there\r\n');
    assert.deepEqual(data.texts, ['Win\tcash now', 'hi there']);
    assert.deepEqual(Array.from(data.y), [1, 0]);
  });

  test('CSV with quoted text; integer labels sort numerically; class order can be fixed', () => {
    const csv = 'id,text,label\n1,"Hello, world",10\n2,"say ""hi""",2\n';
    const data = parseTextCsv(csv);
    assert.deepEqual(data.texts, ['Hello, world', 'say "hi"']);
    assert.deepEqual(data.classNames, ['2', '10']);
    assert.deepEqual(Array.from(data.y), [1, 0]);
    const fixed = parseTextCsv('body,cls\nx,b\ny,a\n', {
      textColumn: 'body',
      labelColumn: 'cls',
      classNames: ['b', 'a'],
    });
    assert.deepEqual(Array.from(fixed.y), [0, 1]);
  });

  test('JSONL with string or integer labels', () => {
    const data = parseTextJsonl('{"text": "free money", "label": "spam"}\n\n{"text": "lunch?", "label": "ham"}\n');
    assert.deepEqual(data.classNames, ['ham', 'spam']);
    assert.deepEqual(Array.from(data.y), [1, 0]);
    const ints = parseTextJsonl('{"body": "a", "y": 1}\n{"body": "b", "y": 0}', { textField: 'body', labelField: 'y' });
    assert.deepEqual(Array.from(ints.y), [1, 0]);
  });

  test('files by extension', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-text-'));
    writeFileSync(join(dir, 'a.csv'), 'text,label\nhello,ham\n');
    writeFileSync(join(dir, 'a.jsonl'), '{"text":"hello","label":"ham"}\n');
    writeFileSync(join(dir, 'a.tsv'), 'ham\thello\n');
    for (const f of ['a.csv', 'a.jsonl', 'a.tsv']) {
      const data = loadTextDataset(join(dir, f));
      assert.deepEqual(data.texts, ['hello'], f);
      assert.equal(data.name, 'a');
    }
  });

  test('bad input names the line and the problem', async () => {
    await fails(() => parseLabelTabText('ham\tok\nno tab here\n', { source: 'f.txt' }), /f\.txt: line 2 has no tab/);
    await fails(() => parseLabelTabText(''), /no texts/);
    await fails(() => parseTextCsv('body,label\nx,1\n'), /text column 'text' not found; columns are \[body, label\]/);
    await fails(() => parseTextJsonl('{"text": "a", "label": "x"}\n{"text": 3, "label": "x"}'), /line 2: field 'text'/);
    await fails(() => parseTextJsonl('{"text": "a", "label": "x"}\nnot json'), /line 2 is not valid JSON/);
    await fails(
      () => parseTextJsonl('{"text": "a", "label": "x"}', { classNames: ['y'] }),
      /label 'x' is not one of \[y\]/,
    );
    await fails(() => loadTextDataset('/nonexistent/file.tsv'), /cannot read text data \(ENOENT\)/);
  });
});

describe('splits', () => {
  test('dedupe keeps first occurrences; a seeded split is reproducible and partitions the data', () => {
    const data = parseLabelTabText('ham\ta\nspam\tb\nham\ta\nham\tc\nspam\td\n');
    const unique = dedupeTexts(data);
    assert.deepEqual(unique.texts, ['a', 'b', 'c', 'd']);
    const [x1, y1] = splitTexts(unique, 0.5, new Rng(3));
    const [x2] = splitTexts(unique, 0.5, new Rng(3));
    assert.deepEqual(x1.texts, x2.texts);
    assert.deepEqual([...x1.texts, ...y1.texts].sort(), ['a', 'b', 'c', 'd']);
  });
});
