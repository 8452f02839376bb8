/**
 * Child process for the kill -9 test: appends audit entries to the store at argv[2] forever and
 * prints "seq hash" after each append returns (stdout to a pipe is synchronous on Linux).
 */
import { AUDIT_MIGRATIONS, AuditLog } from '../../../src/gateway/audit/audit-log.js';
import { openStore } from '../../../src/store/store.js';
import { sampleEntry } from './audit-fixture.js';

const db = openStore(process.argv[2], AUDIT_MIGRATIONS);
const log = new AuditLog(db, { synchronous: 'normal' });
process.stdout.write('ready\n');
for (let i = 1; ; i++) {
  const { seq, hash } = log.append(sampleEntry(i));
  process.stdout.write(`${seq} ${hash}\n`);
}
