/**
 * One audit transaction, as both audit modes commit it: BEGIN IMMEDIATE, the sqlite limits store's
 * pending budget changes, the entries appended to the hash chain, COMMIT. Any failure rolls back
 * both, and the budget changes stay pending for the next commit.
 */
import type { StoreDatabase } from '../../store/store.js';
import type { DeferredWrites } from '../limits/limits.js';
import type { AuditService } from '../pipeline/services.js';
import type { AuditEntry } from '../types.js';

export function auditCommit(
  db: StoreDatabase,
  audit: AuditService,
  budgetWrites: DeferredWrites | undefined,
): (entries: AuditEntry[]) => void {
  const tx = db.transaction((entries: AuditEntry[]) => {
    budgetWrites?.write();
    if (audit.appendMany) audit.appendMany(entries);
    else for (const entry of entries) audit.append(entry);
  });
  return (entries) => {
    try {
      tx.immediate(entries);
    } catch (error) {
      budgetWrites?.undo();
      throw error;
    }
  };
}
