/**
 * A small bundled synonym list for word-substitution attacks on phishing text (no download):
 * groups of interchangeable words and phrases for the vocabulary of credential lures — account,
 * verify, suspend, urgent, click, password, bank … — hand-written after the lure wording in the
 * Nazario and phishing-pot corpora and WordNet synsets. Every member of a group maps to the others.
 * Counterfitted embeddings (TextFooler) would give more; a list keeps the attack reproducible and
 * meaning-preserving by construction.
 */

export const SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ['account', 'profile', 'membership'],
  ['verify', 'confirm', 'validate', 'check'],
  ['verification', 'confirmation', 'validation'],
  ['suspended', 'paused', 'frozen', 'disabled'],
  ['suspend', 'pause', 'freeze', 'disable'],
  ['suspension', 'freeze', 'hold'],
  ['urgent', 'pressing', 'critical', 'important'],
  ['immediately', 'promptly', 'instantly', 'now'],
  ['click', 'press', 'tap', 'select'],
  ['password', 'passcode', 'passphrase'],
  ['update', 'refresh', 'renew', 'revise'],
  ['information', 'details', 'data', 'info'],
  ['bank', 'lender'],
  ['security', 'safety', 'protection'],
  ['customer', 'client', 'user', 'member'],
  ['customers', 'clients', 'users', 'members'],
  ['access', 'entry', 'use'],
  ['login', 'signin', 'logon'],
  ['limited', 'restricted', 'reduced'],
  ['unusual', 'strange', 'odd', 'irregular'],
  ['activity', 'actions', 'behaviour', 'usage'],
  ['unauthorized', 'unapproved', 'unknown'],
  ['notice', 'notification', 'message', 'alert'],
  ['dear', 'hello', 'hi'],
  ['please', 'kindly'],
  ['fail', 'neglect', 'omit'],
  ['failure', 'neglect'],
  ['receive', 'get', 'obtain'],
  ['within', 'inside'],
  ['hours', 'hrs'],
  ['closed', 'shut', 'terminated', 'cancelled'],
  ['reactivate', 'restore', 'reinstate', 'unlock'],
  ['restore', 'recover', 'reinstate'],
  ['billing', 'payment', 'invoice'],
  ['payment', 'remittance', 'transfer'],
  ['card', 'cc'],
  ['online', 'web', 'internet'],
  ['team', 'department', 'staff', 'group'],
  ['service', 'services', 'support'],
  ['support', 'help', 'assistance'],
  ['sincerely', 'regards', 'respectfully'],
  ['thank', 'thanks'],
  ['important', 'significant', 'essential', 'vital'],
  ['required', 'needed', 'necessary', 'mandatory'],
  ['request', 'ask', 'require'],
  ['secure', 'safe', 'protected'],
  ['fraud', 'scam', 'abuse'],
  ['fraudulent', 'illegitimate', 'suspicious'],
  ['suspicious', 'questionable', 'doubtful'],
  ['record', 'file', 'entry'],
  ['records', 'files', 'entries'],
  ['identity', 'identification', 'id'],
  ['link', 'url', 'address'],
  ['below', 'underneath', 'beneath'],
  ['free', 'complimentary', 'gratis'],
  ['money', 'funds', 'cash'],
  ['prize', 'award', 'reward'],
  ['winner', 'recipient', 'awardee'],
  ['congratulations', 'congrats'],
  ['offer', 'deal', 'proposal'],
  ['claim', 'collect', 'redeem'],
  ['ebay', 'e-bay'],
  ['paypal', 'pay-pal'],
  ['mailbox', 'inbox'],
  ['email', 'e-mail', 'mail'],
  ['expire', 'lapse', 'end'],
  ['expired', 'lapsed', 'ended'],
  ['provide', 'supply', 'give', 'submit'],
  ['enter', 'type', 'input'],
  ['attempt', 'try'],
  ['attempts', 'tries'],
  ['problem', 'issue', 'trouble'],
  ['problems', 'issues', 'troubles'],
  ['resolve', 'fix', 'settle'],
  ['protect', 'safeguard', 'shield'],
  ['ensure', 'make sure', 'guarantee'],
  ['inconvenience', 'trouble', 'bother'],
  ['regret', 'apologize'],
  ['inform', 'notify', 'tell', 'advise'],
  ['cooperation', 'collaboration', 'assistance'],
];

const INDEX: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, Set<string>>();
  for (const group of SYNONYM_GROUPS) {
    for (const word of group) {
      const set = map.get(word) ?? new Set<string>();
      for (const other of group) if (other !== word) set.add(other);
      map.set(word, set);
    }
  }
  return new Map([...map].map(([k, v]) => [k, [...v]]));
})();

/** Synonyms of a word (lowercase look-up), in list order; [] when the word is not listed. */
export function synonymsOf(word: string): readonly string[] {
  return INDEX.get(word.toLowerCase()) ?? [];
}
