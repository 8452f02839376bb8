/**
 * The one alert schema triage works on, whatever raised the alert: Suricata EVE JSON,
 * Elastic Common Schema documents, Aegis's own alerts (gateway, monitors, detectors) or
 * the signature rules the benchmarks run over NSL-KDD and UNSW-NB15 records.
 */

export type TriageSeverity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface TriageAlert {
  /** Stable id (source id, or a hash of the normalised content for sources without one). */
  id: string;
  /** Milliseconds since the Unix epoch (UTC). */
  time: number;
  /** Which feed: 'suricata', 'ecs', 'aegis-gateway', 'aegis-monitor', 'aegis-detector', 'rules'. */
  source: string;
  /** Rule or signature id and name, e.g. '2019401' / 'ET SCAN Nmap'. */
  signatureId: string;
  signature: string;
  severity: TriageSeverity;
  /** Detector confidence in [0, 1] when the source gives one; undefined otherwise. */
  confidence?: number;
  /** Entities the alert is about; '' when unknown. Grouping keys on these. */
  srcIp: string;
  destIp: string;
  host: string;
  user: string;
  /** MITRE ATT&CK or ATLAS tactic and technique ids when known (e.g. 'TA0007', 'T1046', 'AML.T0024'). */
  tactic: string;
  technique: string;
  /** Ground truth when the data has it (benchmarks): true = the alert belongs to a real attack. */
  truth?: boolean;
  /** The source record, for explanation and export. */
  raw: unknown;
}

/** Alerts grouped by entity, time window and technique: the unit analysts triage. */
export interface Incident {
  id: string;
  /** The grouping key, e.g. 'src:10.0.0.5|T1046'. */
  key: string;
  firstSeen: number;
  lastSeen: number;
  alertIds: string[];
  /** Duplicate deliveries folded into the alerts above (same alert id or same content within the window). */
  duplicates: number;
  /** Latest score of the ranking model and its explanation, filled by the ranker. */
  score?: number;
  /** Analyst verdict, when given: 'tp' | 'fp'. */
  verdict?: 'tp' | 'fp';
  /** Ground truth for benchmarks: any alert in it is true. */
  truth?: boolean;
}
