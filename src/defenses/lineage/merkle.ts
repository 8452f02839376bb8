/**
 * Merkle Tree Hash of RFC 6962 §2.1 (Laurie, Langley, Kasper 2013, Certificate Transparency):
 * MTH({}) = SHA-256(''), leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || left || right), and a
 * tree of n > 1 leaves splits at k, the largest power of two below n. The distinct leaf and node
 * prefixes stop a leaf from posing as an inner node (second-preimage attacks on plain trees), and
 * unlike Bitcoin's tree nothing is duplicated, so appending a copy of the last leaf changes the root.
 */
import { createHash } from 'node:crypto';

// Prefix and operands are copied into one scratch buffer so each hash is a single update call
// (every call into node:crypto has a fixed cost that dominates for 33- and 65-byte inputs).
const scratch = Buffer.alloc(65);

export function leafHash(data: Uint8Array): Buffer {
  if (data.length > 64)
    return createHash('sha256')
      .update(Buffer.from([0x00]))
      .update(data)
      .digest();
  scratch[0] = 0x00;
  scratch.set(data, 1);
  return createHash('sha256')
    .update(scratch.subarray(0, 1 + data.length))
    .digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== 32 || right.length !== 32) {
    return createHash('sha256')
      .update(Buffer.from([0x01]))
      .update(left)
      .update(right)
      .digest();
  }
  scratch[0] = 0x01;
  scratch.set(left, 1);
  scratch.set(right, 33);
  return createHash('sha256').update(scratch).digest();
}

/**
 * Builds the root leaf by leaf in O(log n) memory. The stack holds the roots of perfect subtrees
 * of strictly decreasing size (the binary digits of the leaf count); at the end they fold right to
 * left, which is exactly RFC 6962's split at the largest power of two (the first stack entry is the
 * left subtree of 2^a leaves, the rest is the right subtree, recursively).
 */
export class MerkleBuilder {
  private readonly hashes: Buffer[] = [];
  private readonly sizes: number[] = [];
  private leaves = 0;

  /** Appends a leaf holding `data` (hashed with the 0x00 prefix here). */
  add(data: Uint8Array): void {
    let hash = leafHash(data);
    let size = 1;
    while (this.sizes.length > 0 && this.sizes[this.sizes.length - 1] === size) {
      hash = nodeHash(this.hashes.pop() as Buffer, hash);
      this.sizes.pop();
      size *= 2;
    }
    this.hashes.push(hash);
    this.sizes.push(size);
    this.leaves++;
  }

  get count(): number {
    return this.leaves;
  }

  /** The Merkle Tree Hash of the leaves so far (the builder can keep growing afterwards). */
  root(): Buffer {
    if (this.hashes.length === 0) return createHash('sha256').digest();
    let root = this.hashes[this.hashes.length - 1] as Buffer;
    for (let i = this.hashes.length - 2; i >= 0; i--) root = nodeHash(this.hashes[i] as Buffer, root);
    return root;
  }

  rootHex(): string {
    return this.root().toString('hex');
  }
}

/** MTH over leaf data items in the order given. */
export function merkleRoot(leaves: Iterable<Uint8Array>): Buffer {
  const builder = new MerkleBuilder();
  for (const leaf of leaves) builder.add(leaf);
  return builder.root();
}

/** MTH over a packed run of 32-byte digests (each digest is one leaf's data). */
export function merkleRootOfDigests(packed: Uint8Array): Buffer {
  const builder = new MerkleBuilder();
  for (let at = 0; at + 32 <= packed.length; at += 32) builder.add(packed.subarray(at, at + 32));
  return builder.root();
}
