import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildStatement,
  comparePaths,
  isRelativeModelPath,
  MODEL_SIGNING_PREDICATE_TYPE,
  parseStatement,
  STATEMENT_TYPE,
  statementBytes,
} from '../../../src/defenses/lineage/in-toto.js';

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const SERIALIZATION = {
  method: 'files' as const,
  hash_type: 'sha256' as const,
  allow_symlinks: false,
  ignore_paths: ['model.sig', '.git'],
};

function parseJson(json: unknown) {
  return parseStatement(Buffer.from(JSON.stringify(json)));
}

describe('in-toto model signing statement', () => {
  test('one subject per file, sorted by path, with the model_signing predicate', () => {
    const statement = buildStatement(
      [
        { name: 'b.bin', sha256: D1 },
        { name: 'a.b', sha256: D2 },
        { name: 'a/z.json', sha256: D1 },
      ],
      SERIALIZATION,
    );
    assert.deepEqual(statement, {
      _type: STATEMENT_TYPE,
      subject: [
        { name: 'a/z.json', digest: { sha256: D1 } },
        { name: 'a.b', digest: { sha256: D2 } },
        { name: 'b.bin', digest: { sha256: D1 } },
      ],
      predicateType: MODEL_SIGNING_PREDICATE_TYPE,
      predicate: {
        serialization: {
          method: 'files',
          hash_type: 'sha256',
          allow_symlinks: false,
          ignore_paths: ['.git', 'model.sig'],
        },
      },
    });
    const parsed = parseStatement(statementBytes(statement));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.statement, statement);
  });

  test('paths compare segment by segment', () => {
    assert.ok(comparePaths('a/b', 'a.b') < 0);
    assert.ok(comparePaths('a', 'a/b') < 0);
    assert.ok(comparePaths('B', 'a') < 0);
    assert.equal(comparePaths('x/y', 'x/y'), 0);
  });

  test('subject names must stay inside the model', () => {
    for (const good of ['a', 'a/b.bin', 'deep/er/x..y']) assert.ok(isRelativeModelPath(good), good);
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', './a', 'a/', 'a\\b']) {
      assert.equal(isRelativeModelPath(bad), false, bad);
    }
  });

  test('unknown extra fields are ignored, as the specs ask', () => {
    const statement = buildStatement([{ name: 'w', sha256: D1 }], SERIALIZATION);
    const extended = { ...statement, predicate: { ...statement.predicate, resources: [] }, extra: 1 };
    assert.ok(parseJson(extended).ok);
  });

  test('each malformed shape is rejected with where it went wrong', () => {
    const good = buildStatement([{ name: 'w', sha256: D1 }], SERIALIZATION);
    const cases: [unknown, RegExp][] = [
      [{ ...good, _type: 'https://in-toto.io/Statement/v0.1' }, /_type/],
      [{ ...good, predicateType: 'https://slsa.dev/provenance/v1' }, /predicateType/],
      [{ ...good, subject: [] }, /subject/],
      [{ ...good, subject: [{ name: '../escape', digest: { sha256: D1 } }] }, /subject\.0\.name: must be a relative/],
      [{ ...good, subject: [{ name: 'w', digest: { sha256: 'XYZ' } }] }, /subject\.0\.digest\.sha256/],
      [{ ...good, subject: [{ name: 'w', digest: { sha512: D1 } }] }, /subject\.0\.digest\.sha256/],
      [
        {
          ...good,
          subject: [
            { name: 'w', digest: { sha256: D1 } },
            { name: 'w', digest: { sha256: D2 } },
          ],
        },
        /names 'w' twice/,
      ],
      [{ ...good, predicate: { serialization: { ...SERIALIZATION, method: 'shards' } } }, /serialization\.method/],
      [{ ...good, predicate: { serialization: { ...SERIALIZATION, hash_type: 'blake3' } } }, /hash_type/],
      [{ ...good, predicate: {} }, /predicate\.serialization/],
    ];
    for (const [json, pattern] of cases) {
      const parsed = parseJson(json);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, pattern);
    }
    const notJson = parseStatement(Buffer.from('{'));
    assert.equal(notJson.ok, false);
    if (!notJson.ok) assert.match(notJson.reason, /not JSON/);
  });
});
