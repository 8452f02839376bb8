/**
 * The flow-record layouts Aegis reads, as plain data: which columns exist, which are categorical,
 * which carry labels and which are identifiers to drop, and how a raw label maps to a class.
 *
 * - NSL-KDD (Tavallaee, Bagheri, Lu & Ghorbani 2009, CISDA): 41 features + label + difficulty,
 *   no header. Attack names map to the four DARPA 1998 categories (Kendall 1999, "A Database of
 *   Computer Attacks for the Evaluation of Intrusion Detection Systems", MIT MSc thesis; the
 *   mapping as listed with the NSL-KDD files and used by Tavallaee et al. and Yin et al. 2017).
 * - UNSW-NB15 (Moustafa & Slay 2015, MilCIS): the partition CSVs with a header, `attack_cat`
 *   for the family and `label` 0/1.
 * - CIC-IDS2017 (Sharafaldin, Habibi Lashkari & Ghorbani 2018, ICISSP): CICFlowMeter CSVs whose
 *   header names carry leading spaces and a duplicated "Fwd Header Length"; label BENIGN or the
 *   attack name. Identifier columns (addresses, ports of the source, timestamps) are dropped:
 *   they identify the testbed, not the behaviour.
 */
import { AegisInputError } from '../../core/errors.js';

export type LayoutName = 'nsl-kdd' | 'unsw-nb15' | 'cic-ids2017';
export const LAYOUT_NAMES: readonly LayoutName[] = ['nsl-kdd', 'unsw-nb15', 'cic-ids2017'];

export interface FlowLayout {
  name: LayoutName;
  title: string;
  /** Column names in file order (NSL-KDD, which has no header); header layouts read them from the file. */
  columns?: readonly string[];
  hasHeader: boolean;
  /** Columns one-hot encoded. */
  categorical: readonly string[];
  /** Columns that are neither features nor labels (ids, addresses, difficulty). */
  drop: readonly string[];
  /** Column with the raw label (attack name, or the family for UNSW). */
  labelColumn: string;
  /** Optional extra label column (UNSW's binary `label`). */
  binaryLabelColumn?: string;
  /** Class names of the multi-class task, normal first; empty = the categories seen in training. */
  fixedClasses: readonly string[];
  /** The normal class name. */
  normalClass: string;
  /** Class (category) of a raw label; undefined for a label the layout does not know. */
  categoryOf(rawLabel: string): string | undefined;
  /** The dataset's paper. */
  citation: string;
}

export const NSL_KDD_COLUMNS = [
  'duration',
  'protocol_type',
  'service',
  'flag',
  'src_bytes',
  'dst_bytes',
  'land',
  'wrong_fragment',
  'urgent',
  'hot',
  'num_failed_logins',
  'logged_in',
  'num_compromised',
  'root_shell',
  'su_attempted',
  'num_root',
  'num_file_creations',
  'num_shells',
  'num_access_files',
  'num_outbound_cmds',
  'is_host_login',
  'is_guest_login',
  'count',
  'srv_count',
  'serror_rate',
  'srv_serror_rate',
  'rerror_rate',
  'srv_rerror_rate',
  'same_srv_rate',
  'diff_srv_rate',
  'srv_diff_host_rate',
  'dst_host_count',
  'dst_host_srv_count',
  'dst_host_same_srv_rate',
  'dst_host_diff_srv_rate',
  'dst_host_same_src_port_rate',
  'dst_host_srv_diff_host_rate',
  'dst_host_serror_rate',
  'dst_host_srv_serror_rate',
  'dst_host_rerror_rate',
  'dst_host_srv_rerror_rate',
  'label',
  'difficulty',
] as const;

export const NSL_KDD_CLASSES = ['normal', 'DoS', 'Probe', 'R2L', 'U2R'] as const;

/** Attack name → DARPA 1998 category (Kendall 1999), covering KDDTrain+ and KDDTest+. */
export const NSL_KDD_CATEGORY: Readonly<Record<string, string>> = Object.freeze({
  normal: 'normal',
  // DoS
  back: 'DoS',
  land: 'DoS',
  neptune: 'DoS',
  pod: 'DoS',
  smurf: 'DoS',
  teardrop: 'DoS',
  apache2: 'DoS',
  mailbomb: 'DoS',
  processtable: 'DoS',
  udpstorm: 'DoS',
  // Probe
  ipsweep: 'Probe',
  nmap: 'Probe',
  portsweep: 'Probe',
  satan: 'Probe',
  mscan: 'Probe',
  saint: 'Probe',
  // R2L
  ftp_write: 'R2L',
  guess_passwd: 'R2L',
  imap: 'R2L',
  multihop: 'R2L',
  phf: 'R2L',
  spy: 'R2L',
  warezclient: 'R2L',
  warezmaster: 'R2L',
  named: 'R2L',
  sendmail: 'R2L',
  snmpgetattack: 'R2L',
  snmpguess: 'R2L',
  xlock: 'R2L',
  xsnoop: 'R2L',
  worm: 'R2L',
  // U2R
  buffer_overflow: 'U2R',
  loadmodule: 'U2R',
  perl: 'U2R',
  rootkit: 'U2R',
  httptunnel: 'U2R',
  ps: 'U2R',
  sqlattack: 'U2R',
  xterm: 'U2R',
});

export const NSL_KDD: FlowLayout = {
  name: 'nsl-kdd',
  title: 'NSL-KDD',
  columns: NSL_KDD_COLUMNS,
  hasHeader: false,
  categorical: ['protocol_type', 'service', 'flag'],
  drop: ['difficulty'],
  labelColumn: 'label',
  fixedClasses: NSL_KDD_CLASSES,
  normalClass: 'normal',
  // KDD'99 files write labels with a trailing dot ('normal.'); NSL-KDD does not.
  categoryOf: (raw) => NSL_KDD_CATEGORY[raw.trim().replace(/\.$/, '')],
  citation: 'Tavallaee, Bagheri, Lu & Ghorbani 2009, "A Detailed Analysis of the KDD CUP 99 Data Set", IEEE CISDA',
};

/** UNSW-NB15 spells some families inconsistently across its files (' Fuzzers', 'Backdoors'). */
function unswFamily(raw: string): string {
  const t = raw.trim();
  if (t === '' || /^normal$/i.test(t)) return 'Normal';
  if (t === 'Backdoors') return 'Backdoor';
  return t;
}

export const UNSW_NB15: FlowLayout = {
  name: 'unsw-nb15',
  title: 'UNSW-NB15',
  hasHeader: true,
  categorical: ['proto', 'service', 'state'],
  drop: ['id'],
  labelColumn: 'attack_cat',
  binaryLabelColumn: 'label',
  fixedClasses: [],
  normalClass: 'Normal',
  categoryOf: unswFamily,
  citation:
    'Moustafa & Slay 2015, "UNSW-NB15: a comprehensive data set for network intrusion detection systems", MilCIS',
};

/** CICFlowMeter columns that identify hosts or times rather than behaviour. */
const CIC_IDENTIFIERS = ['Flow ID', 'Source IP', 'Source Port', 'Destination IP', 'Timestamp', 'Src IP', 'Dst IP'];

/** CIC-IDS2017 writes an en dash in "Web Attack – Brute Force" in cp1252; read as UTF-8 it is U+FFFD. */
function cicFamily(raw: string): string {
  const t = raw.trim().replace(/\s*[\uFFFD\u2013\u0096-]\s*/g, ' - ');
  if (/^benign$/i.test(t)) return 'BENIGN';
  return t;
}

export const CIC_IDS2017: FlowLayout = {
  name: 'cic-ids2017',
  title: 'CIC-IDS2017',
  hasHeader: true,
  categorical: ['Protocol'],
  drop: CIC_IDENTIFIERS,
  labelColumn: 'Label',
  fixedClasses: [],
  normalClass: 'BENIGN',
  categoryOf: cicFamily,
  citation:
    'Sharafaldin, Habibi Lashkari & Ghorbani 2018, "Toward Generating a New Intrusion Detection Dataset and Intrusion Traffic Characterization", ICISSP',
};

export const LAYOUTS: Readonly<Record<LayoutName, FlowLayout>> = {
  'nsl-kdd': NSL_KDD,
  'unsw-nb15': UNSW_NB15,
  'cic-ids2017': CIC_IDS2017,
};

export function layoutByName(name: string): FlowLayout {
  const layout = (LAYOUTS as Record<string, FlowLayout>)[name];
  if (!layout) throw new AegisInputError(`unknown flow layout '${name}'; choose one of ${LAYOUT_NAMES.join(', ')}`);
  return layout;
}

/**
 * Names a header the way pandas does: trimmed, and a repeated name gets '.1', '.2' …
 * (CIC-IDS2017 has "Fwd Header Length" twice).
 */
export function normaliseHeader(fields: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return fields.map((f, i) => {
    const name = f.trim().replace(/^\uFEFF/, '') || `column_${i + 1}`;
    const k = seen.get(name) ?? 0;
    seen.set(name, k + 1);
    return k === 0 ? name : `${name}.${k}`;
  });
}

/** Guesses the layout from the first line of a file; undefined when it matches none. */
export function detectLayout(firstLine: string): FlowLayout | undefined {
  // Tools that quote every field (R's write.csv, QUOTE_ALL) write "attack_cat" and "tcp".
  const fields = normaliseHeader(firstLine.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1')));
  const has = (name: string) => fields.includes(name);
  if (has('attack_cat') || (has('sttl') && has('proto'))) return UNSW_NB15;
  if (has('Flow Duration') || has('Label')) return CIC_IDS2017;
  const proto = fields[1]?.trim().toLowerCase();
  if ((fields.length === 43 || fields.length === 42) && (proto === 'tcp' || proto === 'udp' || proto === 'icmp')) {
    return NSL_KDD;
  }
  return undefined;
}
