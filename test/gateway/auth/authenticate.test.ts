/** Credentials from headers (API key or JWT, one per request, never a throw) and deny-by-default authorization. */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, test } from 'node:test';
import { API_KEY_MIGRATIONS, ApiKeyStore } from '../../../src/gateway/auth/api-keys.js';
import { allowedModels, authorize, createAuthenticator } from '../../../src/gateway/auth/authenticate.js';
import type { Principal } from '../../../src/gateway/types.js';
import { openStore, type StoreDatabase } from '../../../src/store/store.js';

let db: StoreDatabase;
let store: ApiKeyStore;
let key: string;
let keyId: string;
const jwtCalls: string[] = [];
const jwtPrincipal: Principal = { id: 'jwt:bob', name: 'bob', tier: 'default', scopes: [], via: 'jwt' };
const fakeJwt = async (token: string) => {
  jwtCalls.push(token);
  return token === 'aaa.bbb.ccc' ? jwtPrincipal : null;
};

before(() => {
  db = openStore(':memory:', API_KEY_MIGRATIONS);
  store = new ApiKeyStore(db, { scrypt: { N: 1024, r: 8, p: 1 } });
  ({ key, id: keyId } = store.create({ name: 'svc', scopes: [{ model: 'cnn', actions: ['predict'] }] }));
});
after(() => db.close());

test('an API key is read from x-api-key or Authorization: Bearer; a JWT-shaped bearer goes to the JWT verifier', async () => {
  const authenticate = createAuthenticator({ apiKeys: store, jwt: fakeJwt });
  assert.equal((await authenticate({ 'x-api-key': key }))?.id, keyId);
  assert.equal((await authenticate({ authorization: `Bearer ${key}` }))?.id, keyId);
  assert.equal((await authenticate({ authorization: `bearer  ${key} ` }))?.id, keyId);
  assert.equal((await authenticate({ authorization: 'Basic dXNlcjpwdw==', 'x-api-key': key }))?.id, keyId);
  assert.deepEqual(jwtCalls, [], 'API keys never reach the JWT verifier');
  assert.equal(await authenticate({ authorization: 'Bearer aaa.bbb.ccc' }), jwtPrincipal);
  assert.equal(await authenticate({ authorization: 'Bearer aaa.bbb.ddd' }), null);
  assert.deepEqual(jwtCalls, ['aaa.bbb.ccc', 'aaa.bbb.ddd']);
});

test('missing, doubled, forged, revoked and garbage credentials → null, never a throw', async () => {
  const authenticate = createAuthenticator({ apiKeys: store, jwt: fakeJwt });
  const extra = store.create({ name: 'to-revoke', scopes: [{ model: '*', actions: ['predict'] }] });
  assert.equal((await authenticate({ 'x-api-key': extra.key }))?.id, extra.id);
  store.revoke(extra.id);
  const forged = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
  const cases: unknown[] = [
    {},
    { authorization: '' },
    { authorization: 'Bearer' },
    { authorization: 'Bearer ' },
    { authorization: `Bearer ${key} extra` },
    { authorization: `Token ${key}` },
    { authorization: key },
    { authorization: `Bearer ${key}`, 'x-api-key': key },
    { authorization: 'Bearer aaa.bbb.ccc', 'x-api-key': key },
    { 'x-api-key': [key, key] },
    { 'x-api-key': '' },
    { 'x-api-key': forged },
    { 'x-api-key': extra.key },
    { 'x-api-key': 'aegis_123' },
    { 'x-api-key': 'x'.repeat(1 << 20) },
    { authorization: `Bearer ${'x'.repeat(1 << 20)}` },
    { authorization: 'Bearer \u0000\u0001' },
    { authorization: 42 },
    { authorization: ['Bearer a'] },
    { 'x-api-key': { toString: () => key } },
    null,
    undefined,
    'x-api-key',
  ];
  for (const headers of cases) {
    assert.equal(await authenticate(headers as IncomingHttpHeaders), null, JSON.stringify(headers)?.slice(0, 80));
  }
});

test('a credential type that is not configured authenticates no one', async () => {
  const keysOnly = createAuthenticator({ apiKeys: store });
  assert.equal(await keysOnly({ authorization: 'Bearer aaa.bbb.ccc' }), null);
  assert.equal((await keysOnly({ 'x-api-key': key }))?.id, keyId);
  const jwtOnly = createAuthenticator({ jwt: fakeJwt });
  assert.equal(await jwtOnly({ 'x-api-key': key }), null);
  assert.equal(await jwtOnly({ authorization: `Bearer ${key}` }), null);
  assert.equal(await jwtOnly({ authorization: 'Bearer aaa.bbb.ccc' }), jwtPrincipal);
  assert.equal(await createAuthenticator({})({ 'x-api-key': key }), null);
});

test('authorize grants exactly what the scopes name, per model and per action', () => {
  const p: Principal = {
    id: 'k1',
    name: 'k1',
    tier: 'default',
    via: 'api-key',
    scopes: [
      { model: 'cnn', actions: ['predict'] },
      { model: '*', actions: ['list'] },
      { model: 'mlp', actions: ['monitor'] },
    ],
  };
  assert.equal(authorize(p, 'cnn', 'predict'), true);
  assert.equal(authorize(p, 'mlp', 'predict'), false);
  assert.equal(authorize(p, 'cnn2', 'predict'), false, 'no prefix matching');
  assert.equal(authorize(p, 'CNN', 'predict'), false, 'names are case-sensitive');
  assert.equal(authorize(p, 'anything', 'list'), true);
  assert.equal(authorize(p, 'mlp', 'monitor'), true);
  assert.equal(authorize(p, 'cnn', 'monitor'), false);
  assert.equal(authorize(p, null, 'list'), true, 'a model-less action needs the action on some scope');
  assert.equal(authorize(p, null, 'monitor'), true);
  assert.equal(authorize(p, '*', 'predict'), false, "the literal model '*' is not a wildcard request");
  assert.deepEqual(allowedModels(p, ['cnn', 'mlp', 'x'], 'predict'), ['cnn']);
  assert.deepEqual(allowedModels(p, ['cnn', 'mlp'], 'list'), ['cnn', 'mlp']);

  const wildcard: Principal = { ...p, scopes: [{ model: '*', actions: ['predict', 'list', 'monitor'] }] };
  for (const action of ['predict', 'list', 'monitor'] as const) assert.equal(authorize(wildcard, 'm', action), true);
});

test('deny by default: a principal without scopes (or with broken ones) may do nothing', () => {
  const none: Principal = { id: 'k2', name: 'k2', tier: 'default', via: 'api-key', scopes: [] };
  for (const action of ['predict', 'list', 'monitor'] as const) {
    assert.equal(authorize(none, 'cnn', action), false);
    assert.equal(authorize(none, null, action), false);
  }
  const broken = { ...none, scopes: undefined } as unknown as Principal;
  assert.equal(authorize(broken, 'cnn', 'predict'), false);
  assert.equal(authorize(null as unknown as Principal, 'cnn', 'predict'), false);
});
