/**
 * One authentication or activity event, whatever log it came from (Windows Security JSON,
 * Linux auth.log, generic CSV/JSONL). Parsers map their source onto this shape; the
 * behaviour baselines and the risk scorer read only this shape.
 */

/** What the user did, normalised across sources. */
export type BehaviorAction =
  | 'logon' // 4624, sshd "Accepted", CSV action=logon
  | 'logon-failure' // 4625, 4771, 4776 with a failure status, sshd "Failed password"
  | 'explicit-credentials' // 4648 (runas / pass-the-hash style logons with other credentials)
  | 'privilege-use' // 4672 special privileges, sudo, su
  | 'process' // 4688, Sysmon 1, sudo COMMAND=
  | 'kerberos-tgt' // 4768
  | 'kerberos-service-ticket' // 4769
  | 'share-access' // 5140, 5145
  | 'account-change' // 4720, 4722, 4724, 4738, 4742 …
  | 'logoff' // 4634, 4647, sshd session closed
  | 'other';

export type BehaviorOutcome = 'success' | 'failure' | 'unknown';

export interface BehaviorEvent {
  /** Milliseconds since the Unix epoch (UTC). */
  time: number;
  /** Normalised account name: lower case, domain and trailing '$' kept off to one side, e.g. 'pgustavo'. */
  user: string;
  /** Domain or realm when the source has one ('theshire'); '' otherwise. */
  domain: string;
  /** The host the event was recorded on or the target host (lower case); '' when unknown. */
  host: string;
  /** Where the action came from: source IP or workstation name (lower case); '' when unknown. */
  source: string;
  action: BehaviorAction;
  outcome: BehaviorOutcome;
  /** Process image or command for 'process' events, service name for tickets, logon type for logons; '' otherwise. */
  detail: string;
  /** True for machine accounts (name ending in '$'), service and well-known system accounts. */
  machineAccount: boolean;
  /** Stable id of the raw record (e.g. Windows EventRecordID + host, or a hash of the line), for deduplication. */
  recordId: string;
  /** Which parser produced it: 'windows-json', 'auth-log', 'csv', 'jsonl'. */
  sourceFormat: string;
  /** The raw event id or action word of the source ('4624', 'sshd:accepted'). */
  rawType: string;
}

/** What a parser could not use, counted rather than thrown (bad input never crashes a stream). */
export interface IngestCounts {
  read: number;
  parsed: number;
  /** Lines or records that are not JSON/CSV, or miss user or time. */
  malformed: number;
  /** Valid records of a type UBA does not model (e.g. Sysmon network events). */
  ignored: number;
  /** Same recordId seen before. */
  duplicates: number;
  /** Earlier than the latest event already seen for the same host by more than the allowed skew. */
  outOfOrder: number;
}
