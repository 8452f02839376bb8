import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { carliniWagner } from '../../../src/attacks/evasion/carlini-wagner.js';
import { deepFool } from '../../../src/attacks/evasion/deepfool.js';
import { fgsm } from '../../../src/attacks/evasion/fgsm.js';
import { pgd } from '../../../src/attacks/evasion/pgd.js';
import { EVASION_ATTACKS, evasionAttackNames, getEvasionAttack } from '../../../src/attacks/evasion/registry.js';
import { AegisInputError } from '../../../src/core/errors.js';

describe('evasion attack registry', () => {
  it('finds the white-box attacks by their CLI names', () => {
    assert.equal(getEvasionAttack('fgsm'), fgsm);
    assert.equal(getEvasionAttack('pgd'), pgd);
    assert.equal(getEvasionAttack('cw'), carliniWagner);
    assert.equal(getEvasionAttack('deepfool'), deepFool);
    for (const name of ['fgsm', 'pgd', 'cw', 'deepfool']) {
      const attack = EVASION_ATTACKS[name]!;
      assert.equal(attack.name, name, 'registry key equals the attack name');
      assert.equal(attack.access, 'gradients');
      assert.match(attack.citation, /20\d\d/);
    }
    assert.equal(fgsm.kind, 'fixed-budget');
    assert.equal(pgd.kind, 'fixed-budget');
    assert.equal(carliniWagner.kind, 'minimum-norm');
    assert.equal(deepFool.kind, 'minimum-norm');
    assert.deepEqual(carliniWagner.norms, ['l2']);
  });

  it('rejects unknown names, listing the valid ones', () => {
    assert.throws(
      () => getEvasionAttack('pgdd'),
      (error: unknown) => {
        assert.ok(error instanceof AegisInputError);
        assert.match(error.message, /unknown evasion attack 'pgdd'/);
        for (const name of evasionAttackNames()) assert.ok(error.message.includes(name));
        return true;
      },
    );
    assert.throws(() => getEvasionAttack('toString'), AegisInputError);
  });
});
