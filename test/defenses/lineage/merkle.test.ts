import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  leafHash,
  MerkleBuilder,
  merkleRoot,
  merkleRootOfDigests,
  nodeHash,
} from '../../../src/defenses/lineage/merkle.js';

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** RFC 6962 §2.1 written out recursively, as the reference. */
function rfcRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return sha(Buffer.from([0]), leaves[0] as Buffer);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), rfcRoot(leaves.slice(0, k)), rfcRoot(leaves.slice(k)));
}

test('a three-leaf tree computed by hand: the split puts two leaves left, one right', () => {
  const [a, b, c] = ['alpha', 'beta', 'gamma'].map((s) => Buffer.from(s));
  const la = sha(Buffer.from([0x00]), a as Buffer);
  const lb = sha(Buffer.from([0x00]), b as Buffer);
  const lc = sha(Buffer.from([0x00]), c as Buffer);
  const left = sha(Buffer.from([0x01]), la, lb);
  const expected = sha(Buffer.from([0x01]), left, lc);
  assert.equal(merkleRoot([a, b, c] as Buffer[]).toString('hex'), expected.toString('hex'));
  assert.deepEqual(leafHash(a as Buffer), la);
  assert.deepEqual(nodeHash(la, lb), left);
  // Not the Bitcoin-style tree, which would pair lc with itself.
  assert.notEqual(expected.toString('hex'), sha(Buffer.from([1]), left, sha(Buffer.from([1]), lc, lc)).toString('hex'));
});

test('matches the Certificate Transparency reference roots for 0 to 8 leaves', () => {
  const leaves = [
    '',
    '00',
    '10',
    '2021',
    '3031',
    '40414243',
    '5051525354555657',
    '606162636465666768696a6b6c6d6e6f',
  ].map(hex);
  const roots = [
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  for (let n = 0; n <= 8; n++) assert.equal(merkleRoot(leaves.slice(0, n)).toString('hex'), roots[n], `${n} leaves`);
});

test('the streaming builder equals the recursive definition for every size up to 70', () => {
  const leaves = Array.from({ length: 70 }, (_, i) => sha(Buffer.from([i, i >> 8])));
  const builder = new MerkleBuilder();
  assert.deepEqual(builder.root(), rfcRoot([]));
  for (let n = 1; n <= leaves.length; n++) {
    builder.add(leaves[n - 1] as Buffer);
    assert.equal(builder.rootHex(), rfcRoot(leaves.slice(0, n)).toString('hex'), `${n} leaves`);
  }
  assert.deepEqual(merkleRootOfDigests(Buffer.concat(leaves)), rfcRoot(leaves));
});

test('appending a duplicate of the last leaf changes the root (no CVE-2012-2459 ambiguity)', () => {
  const leaves = [sha(Buffer.from('a')), sha(Buffer.from('b')), sha(Buffer.from('c'))];
  assert.notDeepEqual(merkleRoot(leaves), merkleRoot([...leaves, leaves[2] as Buffer]));
});
